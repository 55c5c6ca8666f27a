/**
 * activemirror-jupyter's JupyterLab frontend: the "Mirror" sidebar, a panel per
 * opened session, and a command inserting a session's Markdown export into the
 * active notebook.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  InputDialog,
  MainAreaWidget,
  Notification,
  WidgetTracker
} from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';

import { exportSession, listSessions } from './api';
import { MirrorSidebar, SIDEBAR_ID } from './sidebar';
import { SessionView } from './sessionview';

export namespace CommandIDs {
  export const showSidebar = 'activemirror:show-sidebar';
  export const openSession = 'activemirror:open-session';
  export const insertExport = 'activemirror:insert-export';
}

const PALETTE_CATEGORY = 'Mirror';

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

/** Put `markdown` into a new Markdown cell below the active cell of the current notebook. */
function insertMarkdownCell(
  app: JupyterFrontEnd,
  notebooks: INotebookTracker,
  markdown: string,
  sessionId: string
): boolean {
  const panel = notebooks.currentWidget;
  if (!panel || !panel.content.model) {
    return false;
  }
  const notebook = panel.content;
  const index = notebook.activeCellIndex + 1;
  notebook.model!.sharedModel.insertCell(index, {
    cell_type: 'markdown',
    source: markdown,
    metadata: { activemirror: { session_id: sessionId } }
  });
  notebook.activeCellIndex = index;
  const cell = notebook.widgets[index];
  if (cell && 'rendered' in cell) {
    (cell as unknown as { rendered: boolean }).rendered = true;
  }
  app.shell.activateById(panel.id);
  if (cell) {
    void notebook.scrollToCell(cell);
  }
  return true;
}

/** Ask the user which session to export when the command has no session at hand. */
async function pickSession(): Promise<string | null> {
  const page = await listSessions(100, 0);
  if (page.sessions.length === 0) {
    Notification.info('No saved sessions to insert yet.', { autoClose: 4000 });
    return null;
  }
  const labels = page.sessions.map(s => `${s.title || '(untitled)'} — ${s.id}`);
  const choice = await InputDialog.getItem({
    title: 'Insert which session?',
    items: labels
  });
  if (!choice.button.accept || choice.value === null) {
    return null;
  }
  const index = labels.indexOf(choice.value);
  return index >= 0 ? page.sessions[index].id : null;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'activemirror-jupyter:plugin',
  description: 'A Mirror sidebar listing saved activemirror sessions and their messages.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const { commands, shell } = app;
    const tracker = new WidgetTracker<MainAreaWidget<SessionView>>({
      namespace: 'activemirror-session'
    });

    const sidebar = new MirrorSidebar({
      onOpen: session => void commands.execute(CommandIDs.openSession, { sessionId: session.id })
    });
    sidebar.title.icon = mirrorIcon;
    shell.add(sidebar, 'left', { rank: 850 });

    commands.addCommand(CommandIDs.showSidebar, {
      label: 'Show Mirror Sessions',
      caption: 'Open the Mirror sidebar of saved sessions',
      execute: () => {
        shell.activateById(SIDEBAR_ID);
      }
    });

    commands.addCommand(CommandIDs.openSession, {
      label: args => (args.sessionId ? `Open Mirror Session ${args.sessionId}` : 'Open Mirror Session'),
      execute: async args => {
        const sessionId = args.sessionId as string | undefined;
        if (!sessionId) {
          return;
        }
        const existing = tracker.find(w => w.content.sessionId === sessionId);
        if (existing) {
          shell.activateById(existing.id);
          await existing.content.refresh();
          return existing;
        }
        const content = new SessionView({
          sessionId,
          onInsert: id => void commands.execute(CommandIDs.insertExport, { sessionId: id })
        });
        const widget = new MainAreaWidget({ content });
        widget.id = `activemirror-session-${sessionId}`;
        widget.addClass('am-SessionPanel');
        widget.title.label = sessionId;
        widget.title.icon = mirrorIcon;
        widget.title.closable = true;
        void tracker.add(widget);
        shell.add(widget, 'main');
        shell.activateById(widget.id);
        await content.refresh();
        return widget;
      }
    });

    commands.addCommand(CommandIDs.insertExport, {
      label: 'Insert Mirror Session Export into Notebook',
      caption: "Add a session's Markdown export as a new Markdown cell in the active notebook",
      execute: async args => {
        let sessionId = args.sessionId as string | undefined;
        if (!notebooks.currentWidget) {
          Notification.warning('Open a notebook first: the export goes into the active notebook.', {
            autoClose: 5000
          });
          return;
        }
        try {
          if (!sessionId) {
            // The session panel the user looked at last, else ask.
            sessionId = tracker.currentWidget?.content.sessionId ?? (await pickSession()) ?? undefined;
          }
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
          Notification.error(`Could not insert the session: ${(error as Error).message}`, {
            autoClose: 6000
          });
        }
      }
    });

    if (palette) {
      for (const command of [CommandIDs.showSidebar, CommandIDs.insertExport]) {
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
  }
};

export default plugin;
