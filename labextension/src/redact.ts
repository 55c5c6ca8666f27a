/**
 * "Redact…" on a message of the session view: asks once more — saying what a redaction
 * does and cannot undo — and needs the reason, then asks the server to redact the message
 * (`POST …/messages/{id}/redact`). A redacted message shows as "redacted: <reason>, <when>".
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { IMessage, redactMessage } from './api';
import { el, formatTime } from './dom';

/** "redacted: <reason>, <when>" */
export function redactedText(message: IMessage): string {
  const redacted = message.redacted;
  return redacted ? `redacted: ${redacted.reason}, ${formatTime(redacted.at)}` : '';
}

/** The confirmation's body: what will happen, and the reason (required). */
class RedactForm extends Widget {
  constructor(message: IMessage, missing: boolean) {
    super();
    this.addClass('am-RedactForm');
    const preview =
      message.content.length > 120 ? `${message.content.slice(0, 120)}…` : message.content;
    this.node.append(
      el(
        'p',
        'am-RedactForm-what',
        "Remove this message's content, metadata and attachments for good — from the store's " +
          'files, search and exports. Its place in the journal stays, so the session still ' +
          'verifies. This cannot be undone. A secret it held should still be changed.'
      ),
      el('blockquote', 'am-RedactForm-preview', preview || '(no text)')
    );
    this._reason = el('input', 'jp-mod-styled am-RedactForm-reason');
    this._reason.placeholder = 'Reason (required), e.g. "an API key pasted by mistake"';
    this._reason.setAttribute('aria-label', 'Reason');
    this._reason.required = true;
    this.node.append(this._reason);
    if (missing) {
      const note = el('div', 'am-RedactForm-missing', 'A reason is needed to redact.');
      note.setAttribute('role', 'alert');
      this.node.append(note);
    }
  }

  getValue(): string {
    return this._reason.value.trim();
  }

  protected onAfterAttach(): void {
    this._reason.focus();
  }

  private _reason: HTMLInputElement;
}

/** Ask once more, with the reason; null if the user cancels. */
export async function askRedaction(message: IMessage): Promise<string | null> {
  for (let missing = false; ; missing = true) {
    const result = await showDialog({
      title: 'Redact this message?',
      body: new RedactForm(message, missing),
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Redact' })],
      focusNodeSelector: '.am-RedactForm-reason'
    });
    if (!result.button.accept) {
      return null;
    }
    if (result.value) {
      return result.value;
    }
  }
}

/** Ask, then redact; the redacted message, or null if the user cancelled. */
export async function redact(message: IMessage): Promise<IMessage | null> {
  const reason = await askRedaction(message);
  if (reason === null) {
    return null;
  }
  return redactMessage(message.session_id, message.id, reason);
}
