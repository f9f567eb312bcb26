// Calls to the server extension's REST API (conductor_nb/labext/routes.py). The server
// connection adds the token and the XSRF header, so the server's own auth applies.
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface IProgress {
  completed_steps?: number;
  total_steps?: number;
  percentage?: number;
}

export interface IEntry {
  track_id: string;
  name: string;
  status: string;
  type?: string;
  priority?: string;
  progress?: IProgress;
  verbs: string[];
}

export interface IStep {
  step_id: string;
  name: string;
  status: string;
}

export interface IDecision {
  decision_id?: string;
  summary: string;
  timestamp?: string;
}

export interface ITrackList {
  root: string;
  active: IEntry | null;
  tracks: IEntry[];
  total: number;
}

// An answer the server refused: ``message`` is its one-line error.
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

const settings = ServerConnection.makeSettings();

export async function request<T>(
  path: string,
  method = 'GET',
  body?: Record<string, unknown>
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'conductor/api', path);
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  const response = await ServerConnection.makeRequest(url, init, settings);
  const text = await response.text();
  let data: any = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { error: text };
  }
  if (!response.ok) {
    throw new ApiError(
      data.error || data.message || response.statusText,
      response.status
    );
  }
  return data as T;
}

export function trackPath(trackId: string, ...rest: string[]): string {
  return ['tracks', encodeURIComponent(trackId), ...rest].join('/');
}

export function progressText(entry: IEntry): string {
  const p = entry.progress || {};
  const total = p.total_steps || 0;
  return total ? `${p.completed_steps || 0}/${total} steps` : 'no steps';
}

export function percentage(entry: IEntry): number {
  const value = Number((entry.progress || {}).percentage || 0);
  return Math.max(0, Math.min(100, isFinite(value) ? value : 0));
}
