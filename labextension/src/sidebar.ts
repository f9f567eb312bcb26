// The left sidebar: the active track (progress, transitions, steps, latest decisions)
// and the board (filters by status, each track's allowed transitions as buttons, the
// active track outlined).
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { IEntry, percentage, progressText } from './api';
import { transition } from './actions';
import { el, progressBar } from './dom';
import { ConductorModel } from './model';

export const STATUSES = [
  'draft',
  'ready',
  'active',
  'paused',
  'completed',
  'failed',
  'cancelled',
  'archived'
];

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
  '<path class="jp-icon3" fill="#616161" d="M4 5h16v2H4zm0 6h10v2H4zm0 6h13v2H4z' +
  'M18 10l4 2-4 2z"/></svg>';

export const conductorIcon = new LabIcon({
  name: 'conductor-nb:tracks',
  svgstr: ICON_SVG
});

export class ConductorSidebar extends Widget {
  constructor(private readonly model: ConductorModel) {
    super();
    this.id = 'conductor-nb-sidebar';
    this.addClass('conductor-nb-sidebar');
    this.title.icon = conductorIcon;
    this.title.caption = 'Conductor: tracks';
    model.changed.connect(this.render, this);
    this.render();
  }

  dispose(): void {
    this.model.changed.disconnect(this.render, this);
    super.dispose();
  }

  render(): void {
    const model = this.model;
    const parts: HTMLElement[] = [el('h2', 'conductor-nb-title', 'Conductor')];
    const line = model.error || model.message;
    if (line) {
      const kind = model.error ? 'conductor-nb-error' : 'conductor-nb-message';
      parts.push(el('div', kind, line));
    }
    parts.push(this.activeSection(), this.boardSection());
    this.node.replaceChildren(...parts);
  }

  private buttons(entry: IEntry): HTMLElement {
    const box = el('div', 'conductor-nb-verbs');
    for (const verb of entry.verbs) {
      const button = el('button', 'jp-Button conductor-nb-verb', verb);
      button.dataset.verb = verb;
      button.addEventListener('click', () => {
        void transition(this.model, entry, verb);
      });
      box.appendChild(button);
    }
    return box;
  }

  private activeSection(): HTMLElement {
    const section = el('section', 'conductor-nb-active');
    const active = this.model.active;
    section.appendChild(el('h3', '', 'Active track'));
    if (!active) {
      section.appendChild(el('div', 'conductor-nb-empty', 'No track is active.'));
      return section;
    }
    section.append(
      el('div', 'conductor-nb-active-name', active.name),
      el('div', 'conductor-nb-meta', `${active.status} · ${progressText(active)}`),
      progressBar(percentage(active)),
      this.buttons(active),
      el('h4', '', 'Steps')
    );
    const steps = el('ol', 'conductor-nb-steps');
    for (const step of this.model.steps) {
      const item = el('li', `conductor-nb-step conductor-nb-step-${step.status}`);
      item.append(el('span', 'conductor-nb-step-status', step.status), el('span', '', step.name));
      steps.appendChild(item);
    }
    if (!this.model.steps.length) {
      steps.appendChild(el('li', 'conductor-nb-empty', 'no steps yet'));
    }
    section.append(steps, el('h4', '', 'Latest decisions'));
    const decisions = el('ul', 'conductor-nb-decisions');
    for (const decision of [...this.model.decisions].reverse()) {
      decisions.appendChild(el('li', 'conductor-nb-decision', decision.summary));
    }
    if (!this.model.decisions.length) {
      decisions.appendChild(el('li', 'conductor-nb-empty', 'no decisions yet'));
    }
    section.appendChild(decisions);
    return section;
  }

  private filters(): HTMLElement {
    const box = el('div', 'conductor-nb-filters');
    for (const status of STATUSES) {
      const label = el('label', 'conductor-nb-filter');
      const check = document.createElement('input');
      check.type = 'checkbox';
      check.value = status;
      check.checked = this.model.statusFilter.includes(status);
      check.addEventListener('change', () => {
        const chosen = STATUSES.filter(s =>
          s === status ? check.checked : this.model.statusFilter.includes(s)
        );
        this.model.setStatusFilter(chosen);
      });
      label.append(check, document.createTextNode(status));
      box.appendChild(label);
    }
    return box;
  }

  private boardSection(): HTMLElement {
    const section = el('section', 'conductor-nb-board');
    const board = this.model.board;
    const shown = board ? board.tracks.length : 0;
    section.append(
      el('h3', '', 'Board'),
      this.filters(),
      el('div', 'conductor-nb-summary', board ? `${shown} of ${board.total} tracks` : '')
    );
    const rows = el('ul', 'conductor-nb-rows');
    const activeId = this.model.active ? this.model.active.track_id : null;
    for (const entry of board ? board.tracks : []) {
      const row = el('li', 'conductor-nb-row');
      row.dataset.trackId = entry.track_id;
      if (entry.track_id === activeId) {
        row.classList.add('conductor-nb-row-active');
      }
      row.append(
        el('div', 'conductor-nb-row-name', entry.name),
        el('div', 'conductor-nb-meta', `${entry.status} · ${progressText(entry)}`),
        progressBar(percentage(entry)),
        this.buttons(entry)
      );
      rows.appendChild(row);
    }
    section.appendChild(rows);
    return section;
  }
}
