/**
 * The session view's note box: a text area (Markdown; Ctrl+Enter sends), a role picker and
 * Send. It hands the note to its owner and keeps the text until the owner says it was
 * saved, so nothing typed is lost when a send is refused.
 */
import { Role, ROLES } from './api';
import { button, el } from './dom';

export namespace NoteBox {
  export interface IOptions {
    /** Save the note; resolve true once it is saved (the box then empties). */
    send: (content: string, role: Role) => Promise<boolean>;
  }
}

export class NoteBox {
  constructor(options: NoteBox.IOptions) {
    this._send = options.send;
    this.node = el('div', 'am-NoteBox');
    this._input = el('textarea', 'jp-mod-styled am-NoteBox-input');
    this._input.rows = 3;
    this._input.placeholder = 'Add a note (Markdown). Ctrl+Enter sends.';
    this._input.setAttribute('aria-label', 'New note');
    this._input.addEventListener('keydown', event => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        void this.submit();
      }
    });
    this._role = el('select', 'am-NoteBox-role');
    this._role.setAttribute('aria-label', 'Role of the note');
    this._role.append(...ROLES.map(role => new Option(role, role)));
    this._button = button(
      'am-NoteBox-send jp-mod-accept',
      'Send',
      'Add the note to this session (Ctrl+Enter)'
    );
    this._button.addEventListener('click', () => void this.submit());
    const controls = el('div', 'am-NoteBox-controls');
    controls.append(this._role, this._button);
    this._sealed = el(
      'div',
      'am-NoteBox-sealed',
      'This session is sealed: it can be read, verified and exported, not changed.'
    );
    this._sealed.hidden = true;
    this.node.append(this._sealed, this._input, controls);
  }

  readonly node: HTMLDivElement;

  /** A sealed session takes no notes: the box says so and is disabled. */
  set sealed(sealed: boolean) {
    this._sealed.hidden = !sealed;
    this._input.disabled = sealed;
    this._role.disabled = sealed;
    this._button.disabled = sealed || this._sending;
  }

  focus(): void {
    this._input.focus();
  }

  async submit(): Promise<void> {
    const content = this._input.value;
    if (!content.trim() || this._sending || this._input.disabled) {
      return;
    }
    this._sending = true;
    this._button.disabled = true;
    try {
      // The picker offers ROLES only.
      if (await this._send(content, this._role.value as Role)) {
        this._input.value = '';
      }
    } finally {
      this._sending = false;
      this._button.disabled = this._input.disabled;
      this._input.focus();
    }
  }

  private _send: NoteBox.IOptions['send'];
  private _input: HTMLTextAreaElement;
  private _role: HTMLSelectElement;
  private _button: HTMLButtonElement;
  private _sealed: HTMLDivElement;
  private _sending = false;
}
