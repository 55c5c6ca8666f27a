/**
 * activemirror-jupyter's JupyterLab frontend: the "Mirror" sidebar (search, sessions as
 * families, "New session"), a panel per opened session, the export commands (HTML
 * download, Markdown into the notebook, open as a notebook), live refresh, and the
 * settings (page size, refresh interval, date format).
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, Notification, WidgetTracker } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import { LabIcon } from '@jupyterlab/ui-components';
import { Menu } from '@lumino/widgets';

import {
  askNewSession,
  downloadExport,
  insertMarkdownCell,
  openAsNotebook,
  pickSession,
  reportFailure
} from './actions';
import { createSession, exportSession, getSession } from './api';
import { ChangeWatcher } from './changes';
import { DateFormat, setDateFormat } from './dom';
import { MirrorSidebar, SIDEBAR_ID } from './sidebar';
import { SessionView } from './sessionview';

export namespace CommandIDs {
  export const showSidebar = 'activemirror:show-sidebar';
  export const search = 'activemirror:search';
  export const openSession = 'activemirror:open-session';
  export const newSession = 'activemirror:new-session';
  export const insertExport = 'activemirror:insert-export';
  export const downloadHtml = 'activemirror:download-html';
  export const openAsNotebook = 'activemirror:open-as-notebook';
}

const PLUGIN_ID = 'activemirror-jupyter:plugin';
const STATE_KEY = `${PLUGIN_ID}:sidebar`;
const PALETTE_CATEGORY = 'Mirror';

/** The settings (`schema/plugin.json`) and their defaults. */
interface IMirrorSettings {
  pageSize: number;
  refreshInterval: number;
  dateFormat: DateFormat;
}

const DEFAULTS: IMirrorSettings = { pageSize: 20, refreshInterval: 3, dateFormat: 'locale' };

export const mirrorIcon = new LabIcon({
  name: 'activemirror:mirror',
  svgstr: `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 2a7 9 0 1 0 0.001 0zm0 2a5 7 0 1 1-0.001 0z"/>
    <path d="M9 8.5a3 4 0 0 1 3-2.5v1.6a1.6 2.4 0 0 0-1.6 1.4z"/>
    <rect x="11" y="19.5" width="2" height="2.5"/>
    <rect x="7.5" y="21" width="9" height="1.8" rx="0.9"/>
  </g>
</svg>`
});

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'A Mirror sidebar to search and read saved activemirror sessions and add notes.',
  autoStart: true,
  requires: [INotebookTracker, IRenderMimeRegistry],
  optional: [ICommandPalette, ILayoutRestorer, ISettingRegistry, IStateDB],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    rendermime: IRenderMimeRegistry,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    state: IStateDB | null
  ) => {
    const { commands, shell } = app;
    const settings: IMirrorSettings = { ...DEFAULTS };
    const tracker = new WidgetTracker<MainAreaWidget<SessionView>>({
      namespace: 'activemirror-session'
    });
    const watcher = new ChangeWatcher(settings.refreshInterval);
    const views = (): SessionView[] => {
      const found: SessionView[] = [];
      tracker.forEach(widget => found.push(widget.content));
      return found;
    };

    const sidebar = new MirrorSidebar({
      pageSize: settings.pageSize,
      onOpen: session => void commands.execute(CommandIDs.openSession, { sessionId: session.id }),
      onOpenHit: hit =>
        void commands.execute(CommandIDs.openSession, {
          sessionId: hit.session_id,
          messageId: hit.message.id
        }),
      onNewSession: () => void commands.execute(CommandIDs.newSession)
    });
    sidebar.title.icon = mirrorIcon;
    shell.add(sidebar, 'left', { rank: 850 });

    // Live refresh: the sidebar and every open session follow the store.
    watcher.onChange(() => {
      if (sidebar.isVisible) {
        void sidebar.refresh();
      }
      views().forEach(view => void view.refresh());
    });
    watcher.onStatus(error => {
      sidebar.showConnection(error);
      views().forEach(view => view.showConnection(error));
    });

    const exportMenu = new Menu({ commands });
    exportMenu.addClass('am-ExportMenu');

    commands.addCommand(CommandIDs.showSidebar, {
      label: 'Show Mirror Sessions',
      caption: 'Open the Mirror sidebar of saved sessions',
      execute: () => shell.activateById(SIDEBAR_ID)
    });

    commands.addCommand(CommandIDs.search, {
      label: 'Search Mirror Messages',
      caption: 'Search every saved message from the Mirror sidebar',
      execute: () => {
        shell.activateById(SIDEBAR_ID);
        sidebar.focusSearch();
      }
    });

    commands.addCommand(CommandIDs.openSession, {
      label: args =>
        args.sessionId ? `Open Mirror Session ${args.sessionId}` : 'Open Mirror Session',
      execute: async args => {
        const sessionId = args.sessionId as string | undefined;
        const messageId = args.messageId as string | undefined;
        if (!sessionId) {
          return;
        }
        let widget = tracker.find(w => w.content.sessionId === sessionId);
        if (widget) {
          shell.activateById(widget.id);
        } else {
          const content = new SessionView({
            sessionId,
            rendermime,
            pageSize: settings.pageSize,
            onInsert: id => void commands.execute(CommandIDs.insertExport, { sessionId: id }),
            onExportMenu: (id, anchor) => {
              exportMenu.clearItems();
              for (const command of [
                CommandIDs.downloadHtml,
                CommandIDs.insertExport,
                CommandIDs.openAsNotebook
              ]) {
                exportMenu.addItem({ command, args: { sessionId: id } });
              }
              const box = anchor.getBoundingClientRect();
              exportMenu.open(box.left, box.bottom);
            },
            onNoteAdded: () => void watcher.poll()
          });
          widget = new MainAreaWidget({ content });
          widget.id = `activemirror-session-${sessionId}`;
          widget.addClass('am-SessionPanel');
          widget.title.label = sessionId;
          widget.title.icon = mirrorIcon;
          widget.title.closable = true;
          void tracker.add(widget);
          shell.add(widget, 'main');
          shell.activateById(widget.id);
        }
        if (messageId) {
          await widget.content.showMessage(messageId);
        } else {
          await widget.content.refresh();
        }
        return widget;
      }
    });

    commands.addCommand(CommandIDs.newSession, {
      label: args => (args.parentId ? 'New Mirror Sub-session' : 'New Mirror Session'),
      caption: 'Start a new saved session (optionally inside another)',
      execute: async args => {
        const parentId = (args.parentId as string | undefined) ?? null;
        try {
          const parentTitle = parentId ? (await getSession(parentId)).title : null;
          const answer = await askNewSession(parentTitle);
          if (!answer) {
            return;
          }
          const session = await createSession(answer.title, parentId, answer.tags);
          void sidebar.refresh();
          await commands.execute(CommandIDs.openSession, { sessionId: session.id });
          tracker.currentWidget?.content.focusNote();
        } catch (error) {
          reportFailure('Could not create the session', error);
        }
      }
    });

    const sessionOf = async (args: { sessionId?: unknown }): Promise<string | null> =>
      (args.sessionId as string | undefined) ??
      tracker.currentWidget?.content.sessionId ??
      (await pickSession());

    commands.addCommand(CommandIDs.insertExport, {
      label: 'Insert Mirror Session Export into Notebook',
      caption: "Add a session's Markdown export as a new Markdown cell in the active notebook",
      execute: async args => {
        if (!notebooks.currentWidget) {
          Notification.warning('Open a notebook first: the export goes into the active notebook.', {
            autoClose: 5000
          });
          return;
        }
        try {
          const sessionId = await sessionOf(args);
          if (!sessionId) {
            return;
          }
          const markdown = await exportSession(sessionId, 'markdown');
          if (insertMarkdownCell(app, notebooks, markdown, sessionId)) {
            Notification.success('Inserted the session export into the notebook.', {
              autoClose: 3000
            });
          }
        } catch (error) {
          reportFailure('Could not insert the session', error);
        }
      }
    });

    commands.addCommand(CommandIDs.downloadHtml, {
      label: 'Download Mirror Session as HTML',
      caption: 'A standalone HTML report of the session (no scripts)',
      execute: async args => {
        try {
          const sessionId = await sessionOf(args);
          if (sessionId) {
            await downloadExport(sessionId, 'html');
          }
        } catch (error) {
          reportFailure('Could not export the session as HTML', error);
        }
      }
    });

    commands.addCommand(CommandIDs.openAsNotebook, {
      label: 'Open Mirror Session as Notebook',
      caption: 'Write the session as a .ipynb next to the open notebook and open it',
      execute: async args => {
        try {
          const sessionId = await sessionOf(args);
          if (sessionId) {
            const path = await openAsNotebook(app, notebooks, sessionId);
            Notification.success(`Wrote ${path}`, { autoClose: 4000 });
          }
        } catch (error) {
          reportFailure('Could not open the session as a notebook', error);
        }
      }
    });

    if (palette) {
      for (const command of [
        CommandIDs.showSidebar,
        CommandIDs.search,
        CommandIDs.newSession,
        CommandIDs.insertExport,
        CommandIDs.downloadHtml,
        CommandIDs.openAsNotebook
      ]) {
        palette.addItem({ command, category: PALETTE_CATEGORY });
      }
    }

    if (restorer) {
      restorer.add(sidebar, SIDEBAR_ID);
      void restorer.restore(tracker, {
        command: CommandIDs.openSession,
        args: widget => ({ sessionId: widget.content.sessionId }),
        name: widget => widget.content.sessionId
      });
    }

    if (state) {
      keepSidebarState(app, state, sidebar);
    }

    if (settingRegistry) {
      const apply = (loaded: ISettingRegistry.ISettings): void => {
        const next = { ...DEFAULTS, ...(loaded.composite as Partial<IMirrorSettings>) };
        const redraw = next.dateFormat !== settings.dateFormat;
        Object.assign(settings, next);
        setDateFormat(settings.dateFormat);
        watcher.interval = settings.refreshInterval;
        sidebar.pageSize = settings.pageSize;
        for (const view of views()) {
          view.pageSize = settings.pageSize;
          if (redraw) {
            void view.redraw();
          }
        }
        if (redraw) {
          void sidebar.refresh();
        }
      };
      void Promise.all([settingRegistry.load(PLUGIN_ID), app.restored])
        .then(([loaded]) => {
          apply(loaded);
          loaded.changed.connect(apply);
        })
        .catch(error => console.warn('activemirror-jupyter: settings not loaded', error));
    }
  }
};

/** Keep what the sidebar shows (page, expanded families, search) across page reloads. */
function keepSidebarState(app: JupyterFrontEnd, state: IStateDB, sidebar: MirrorSidebar): void {
  let saved = '';
  let timer = 0;
  const save = (): void => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      const now = JSON.stringify(sidebar.state);
      if (now !== saved) {
        saved = now;
        void state.save(STATE_KEY, JSON.parse(now));
      }
    }, 500);
  };
  for (const type of ['click', 'input', 'change', 'keyup']) {
    sidebar.node.addEventListener(type, save);
  }
  // The state database holds the workspace's data only once the layout is restored.
  void app.restored
    .then(() => state.fetch(STATE_KEY))
    .then(value => {
      if (value && typeof value === 'object') {
        saved = JSON.stringify(value);
        void sidebar.restore(value as Partial<MirrorSidebar.IState>);
      }
    });
}

export default plugin;
