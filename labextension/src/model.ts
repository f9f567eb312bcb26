// What the status bar item and the sidebar show: the board (with the sidebar's filters)
// and the active track's steps and latest decisions, read again whenever the server's
// signature of the files changes (asked every 2 s), so a change made by the CLI or a
// kernel shows without a reload.
import { Signal, ISignal } from '@lumino/signaling';

import {
  ApiError,
  IDecision,
  IEntry,
  IStep,
  ITrackList,
  request,
  trackPath
} from './api';

export const POLL_MS = 2000;
export const LATEST_DECISIONS = 5;

export class ConductorModel {
  board: ITrackList | null = null;
  steps: IStep[] = [];
  decisions: IDecision[] = [];
  error = '';
  message = '';
  statusFilter: string[] = [];

  get active(): IEntry | null {
    return this.board ? this.board.active : null;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  start(): void {
    if (this._timer === undefined) {
      this._timer = window.setInterval(() => void this.poll(), POLL_MS);
      void this.refresh();
    }
  }

  dispose(): void {
    window.clearInterval(this._timer);
    this._timer = undefined;
  }

  // Read again if the files changed since the last reading.
  async poll(): Promise<void> {
    if (this._busy) {
      return;
    }
    try {
      const { signature } = await request<{ signature: string }>('signature');
      if (signature !== this._signature) {
        await this.refresh(signature);
      }
    } catch (error) {
      this.fail(error);
    }
  }

  async refresh(signature?: string): Promise<void> {
    this._busy = true;
    try {
      const sig =
        signature ??
        (await request<{ signature: string }>('signature')).signature;
      const query = this.statusFilter.length
        ? `?status=${encodeURIComponent(this.statusFilter.join(','))}`
        : '';
      const board = await request<ITrackList>('tracks' + query);
      let steps: IStep[] = [];
      let decisions: IDecision[] = [];
      if (board.active) {
        const id = board.active.track_id;
        steps = (await request<{ steps: IStep[] }>(trackPath(id, 'steps')))
          .steps;
        decisions = (
          await request<{ decisions: IDecision[] }>(
            trackPath(id, 'decisions') + `?latest=${LATEST_DECISIONS}`
          )
        ).decisions;
      }
      this._signature = sig;
      this.error = '';
      // A file touched without a change to what is shown: keep the views (and the
      // focus in them) as they are.
      const shown = JSON.stringify([board, steps, decisions, this.message]);
      if (shown === this._shown) {
        return;
      }
      this._shown = shown;
      this.board = board;
      this.steps = steps;
      this.decisions = decisions;
    } catch (error) {
      this.fail(error);
      return;
    } finally {
      this._busy = false;
    }
    this._changed.emit();
  }

  setStatusFilter(statuses: string[]): void {
    this.statusFilter = statuses;
    void this.refresh();
  }

  // POST an action; its result (or its error) goes to the message line. Returns the
  // error the server answered, if any (a 409 may call for another way: a switch).
  async act(
    path: string,
    body: Record<string, unknown>,
    done: (answer: any) => string
  ): Promise<ApiError | null> {
    try {
      const answer = await request<any>(path, 'POST', body);
      this.message = done(answer);
      await this.refresh();
      return null;
    } catch (error) {
      this.say(String((error as Error).message || error));
      return error instanceof ApiError ? error : new ApiError(this.message, 0);
    }
  }

  say(message: string): void {
    this.message = message;
    this._shown = '';
    this._changed.emit();
  }

  private fail(error: unknown): void {
    this.error = String((error as Error).message || error);
    this._shown = ''; // the next reading shows again, without the error
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _signature = '';
  private _shown = '';
  private _busy = false;
  private _timer: number | undefined = undefined;
}
