// The actions of the sidebar's buttons and the palette's commands, asking first where
// the notebook's board and panel ask (conductor_nb/notebook/controls.py,
// CONFIRMED_VERBS; live.py for the switch offer): fail and cancel ask with a reason,
// archive asks, activating while another track is active offers a switch.
import { Dialog, InputDialog, showDialog } from '@jupyterlab/apputils';

import { IEntry, ITrackList, request, trackPath } from './api';
import { ConductorModel } from './model';

export const CONFIRMED_VERBS = ['fail', 'cancel', 'archive'];

// null: the user cancelled; else the reason given (maybe empty).
export async function askReason(
  title: string,
  okLabel: string
): Promise<string | null> {
  const answer = await InputDialog.getText({
    title,
    label: 'Reason (optional)',
    okLabel
  });
  return answer.button.accept ? (answer.value ?? '').trim() : null;
}

async function ask(title: string, okLabel: string): Promise<boolean> {
  const answer = await showDialog({
    title,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: okLabel })]
  });
  return answer.button.accept;
}

function reasonBody(reason: string | null): Record<string, unknown> {
  return reason ? { reason } : {};
}

export async function transition(
  model: ConductorModel,
  entry: IEntry,
  verb: string
): Promise<void> {
  let reason: string | null = null;
  if (verb === 'archive') {
    if (!(await ask(`archive ${entry.name}?`, verb))) {
      return;
    }
  } else if (CONFIRMED_VERBS.includes(verb)) {
    reason = await askReason(`${verb} ${entry.name}?`, verb);
    if (reason === null) {
      return;
    }
  }
  const error = await model.act(
    trackPath(entry.track_id, verb),
    reasonBody(reason),
    answer => answer.message
  );
  const active = model.active;
  const activating = verb === 'activate' || verb === 'resume';
  if (error && error.status === 409 && activating && active) {
    if (active.track_id !== entry.track_id) {
      await offerSwitch(model, active, entry);
    }
  }
}

// Another track is active: pause it (with a checkpoint) and activate ``entry``?
export async function offerSwitch(
  model: ConductorModel,
  active: IEntry,
  entry: IEntry
): Promise<void> {
  const reason = await askReason(
    `${active.name} is active. Pause it (with a checkpoint) and switch to ${entry.name}?`,
    'switch'
  );
  if (reason !== null) {
    await switchTo(model, entry, reason);
  }
}

async function switchTo(
  model: ConductorModel,
  entry: IEntry,
  reason: string
): Promise<void> {
  await model.act(
    trackPath(entry.track_id, 'switch'),
    reasonBody(reason),
    answer => `switched to ${answer.track.name}`
  );
}

async function pick(
  title: string,
  tracks: IEntry[]
): Promise<IEntry | null> {
  const labels = tracks.map(t => `${t.name} (${t.status})`);
  const answer = await InputDialog.getItem({ title, items: labels });
  if (!answer.button.accept || answer.value === null) {
    return null;
  }
  return tracks[labels.indexOf(answer.value)] ?? null;
}

async function tracksWith(statuses: string): Promise<ITrackList> {
  return request<ITrackList>(`tracks?status=${statuses}`);
}

// Palette: choose a track; with another one active, confirm the switch.
export async function switchTrack(model: ConductorModel): Promise<void> {
  const board = await tracksWith('draft,ready,paused');
  if (!board.tracks.length) {
    model.say('no track to switch to: every track is active or finished');
    return;
  }
  const entry = await pick('Conductor: switch to which track?', board.tracks);
  if (entry === null) {
    return;
  }
  if (board.active) {
    await offerSwitch(model, board.active, entry);
  } else {
    await transition(model, entry, 'activate');
  }
}

export async function pauseActive(model: ConductorModel): Promise<void> {
  const board = await tracksWith('active');
  if (!board.active) {
    model.say('no track is active');
    return;
  }
  await transition(model, board.active, 'pause');
}

export async function resumePaused(model: ConductorModel): Promise<void> {
  const board = await tracksWith('paused');
  if (!board.tracks.length) {
    model.say('no track is paused');
    return;
  }
  const entry =
    board.tracks.length === 1
      ? board.tracks[0]
      : await pick('Conductor: resume which track?', board.tracks);
  if (entry !== null) {
    await transition(model, entry, 'resume');
  }
}

export async function checkpointActive(model: ConductorModel): Promise<void> {
  const board = await tracksWith('active');
  if (!board.active) {
    model.say('no track is active');
    return;
  }
  const entry = board.active;
  const reason = await askReason(`Checkpoint ${entry.name}?`, 'checkpoint');
  if (reason === null) {
    return;
  }
  await model.act(
    trackPath(entry.track_id, 'checkpoints'),
    reasonBody(reason),
    answer =>
      `checkpoint ${answer.checkpoint.checkpoint_id ?? ''} of ${entry.name} created`
  );
}
