/**
 * Reading the first rows of a CSV attachment (RFC 4180: quoted fields, doubled quotes,
 * newlines inside quotes, CRLF), for the session view's tables.
 */

/** Up to `maxRows` records of `text`; `more` when the text holds further records. */
export function parseCsv(text: string, maxRows: number): { rows: string[][]; more: boolean } {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endRow = (): void => {
    row.push(field);
    rows.push(row);
    row = [];
    field = '';
  };
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
      i += 1;
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') {
        i += 1;
      }
      endRow();
      if (rows.length === maxRows) {
        return { rows, more: text.slice(i + 1).trim().length > 0 };
      }
    } else {
      field += ch;
    }
    i += 1;
  }
  if (field !== '' || row.length > 0) {
    endRow();
  }
  return { rows, more: false };
}
