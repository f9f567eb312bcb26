// conductor_nb in JupyterLab and Notebook 7: the active track in the status bar, the
// board in the left sidebar, and palette commands. Every token but the application is
// optional: Notebook 7 has no status bar, and the sidebar works without a palette.
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IStatusBar } from '@jupyterlab/statusbar';

import {
  checkpointActive,
  pauseActive,
  resumePaused,
  switchTrack
} from './actions';
import { ConductorModel } from './model';
import { ConductorSidebar } from './sidebar';
import { ActiveTrackItem } from './statusitem';

const PALETTE_CATEGORY = 'Conductor';

const COMMANDS: Array<[string, string, (model: ConductorModel) => Promise<void>]> = [
  ['conductor-nb:switch-track', 'Conductor: switch track', switchTrack],
  ['conductor-nb:pause', 'Conductor: pause', pauseActive],
  ['conductor-nb:resume', 'Conductor: resume', resumePaused],
  ['conductor-nb:checkpoint', 'Conductor: checkpoint', checkpointActive]
];

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'conductor-nb:plugin',
  description: 'The active track always in sight: status bar, sidebar board, commands.',
  autoStart: true,
  optional: [IStatusBar, ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    statusBar: IStatusBar | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const model = new ConductorModel();
    const sidebar = new ConductorSidebar(model);
    app.shell.add(sidebar, 'left', { rank: 600 });
    if (restorer) {
      restorer.add(sidebar, sidebar.id);
    }
    const openSidebar = () => app.shell.activateById(sidebar.id);
    app.commands.addCommand('conductor-nb:open', {
      label: 'Conductor: show the board',
      execute: openSidebar
    });
    palette?.addItem({ command: 'conductor-nb:open', category: PALETTE_CATEGORY });
    for (const [id, label, action] of COMMANDS) {
      app.commands.addCommand(id, { label, execute: () => action(model) });
      palette?.addItem({ command: id, category: PALETTE_CATEGORY });
    }
    if (statusBar) {
      statusBar.registerStatusItem('conductor-nb:active-track', {
        item: new ActiveTrackItem(model, openSidebar),
        align: 'left',
        rank: 50
      });
    }
    model.start();
  }
};

export default plugin;
