/**
 * One pager for every paged list of the extension: "previous / page k of n / next", and the
 * request token that keeps a slow, older response from overwriting a newer one.
 *
 * The owner gives `load(page)`, which fetches page `page` (1-based) and resolves to the
 * total number of items; the pager clamps the page, remembers the total, and redraws.
 */
import { button, el } from './dom';

/** Pages needed for `total` items; an empty list still has one (empty) page. */
export function pageCount(total: number, pageSize: number): number {
  return Math.max(1, Math.ceil(total / pageSize));
}

export namespace Pager {
  export interface IOptions {
    pageSize: number;
    /** Fetch and show page `page`; resolve to the total, or to null if superseded. */
    load: (page: number, isCurrent: () => boolean) => Promise<number | null>;
    /** Button labels, tooltips and classes: [class, label, title] for back and forward. */
    back: [string, string, string];
    forward: [string, string, string];
    className?: string;
  }
}

export class Pager {
  constructor(options: Pager.IOptions) {
    this._options = options;
    this.pageSize = options.pageSize;
    this.node = el('div', `am-Pager ${options.className ?? ''}`.trim());
    this._back = button(...options.back);
    this._forward = button(...options.forward);
    this._label = el('span', 'am-Pager-label');
    this._back.addEventListener('click', () => void this.show(this.page - 1));
    this._forward.addEventListener('click', () => void this.show(this.page + 1));
    this.node.append(this._back, this._label, this._forward);
    this.render();
  }

  readonly node: HTMLDivElement;
  pageSize: number;

  /** The page shown, counted from 1. */
  get page(): number {
    return this._page;
  }

  get total(): number {
    return this._total;
  }

  get pages(): number {
    return pageCount(this._total, this.pageSize);
  }

  /** Where page `page` starts (the API's `offset`). */
  offset(page: number = this._page): number {
    return (Math.max(1, page) - 1) * this.pageSize;
  }

  /** Show page `page` (at least 1; the last page if the list shrank below it). */
  async show(page: number): Promise<void> {
    const request = ++this._request;
    const isCurrent = (): boolean => request === this._request;
    let target = Math.max(1, page);
    let total = await this._options.load(target, isCurrent);
    if (total !== null && isCurrent() && target > pageCount(total, this.pageSize) && total > 0) {
      target = pageCount(total, this.pageSize); // items went away since the last look
      total = await this._options.load(target, isCurrent);
    }
    if (total === null || !isCurrent()) {
      return;
    }
    this._total = total;
    this._page = Math.min(target, this.pages);
    this.render();
  }

  /** Show the current page again. */
  refresh(): Promise<void> {
    return this.show(this._page);
  }

  render(): void {
    this._label.textContent = `Page ${this._page} of ${this.pages}`;
    this._back.disabled = this._page <= 1;
    this._forward.disabled = this._page >= this.pages;
  }

  private _options: Pager.IOptions;
  private _page = 1;
  private _total = 0;
  private _request = 0;
  private _back: HTMLButtonElement;
  private _forward: HTMLButtonElement;
  private _label: HTMLSpanElement;
}
