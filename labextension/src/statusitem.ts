// The status bar item: the active track's name, status and progress; a click opens the
// sidebar.
import { Widget } from '@lumino/widgets';

import { percentage, progressText } from './api';
import { ConductorModel } from './model';

export class ActiveTrackItem extends Widget {
  constructor(
    private readonly model: ConductorModel,
    private readonly openSidebar: () => void
  ) {
    super();
    this.addClass('conductor-nb-status');
    this.node.title = 'Conductor: the active track (click for the board)';
    this.node.addEventListener('click', () => this.openSidebar());
    model.changed.connect(this.render, this);
    this.render();
  }

  render(): void {
    const active = this.model.active;
    if (this.model.error && !this.model.board) {
      this.node.textContent = 'Conductor: unavailable';
    } else if (active) {
      this.node.textContent =
        `▶ ${active.name} · ${active.status} · ${progressText(active)}` +
        ` (${Math.round(percentage(active))}%)`;
    } else {
      this.node.textContent = 'Conductor: no active track';
    }
    this.node.dataset.trackId = active ? active.track_id : '';
  }

  dispose(): void {
    this.model.changed.disconnect(this.render, this);
    super.dispose();
  }
}
