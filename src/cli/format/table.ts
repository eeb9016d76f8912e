import Table from 'cli-table3';
import type { ChalkInstance } from 'chalk';
import { visible } from './visible.js';

/**
 * The tables of the CLI: a bold header when colour is on, no rules between rows. Every string cell is
 * passed through `visible` as it is pushed, so a cell can never hold a raw control character, whoever
 * fills the table (callers still escape data before colouring it: with colour on, SGR sequences in a
 * cell are taken to be the CLI's own).
 */
export function plainTable(
  head: string[],
  chalk: ChalkInstance,
  options: { wordWrap?: boolean } = {},
): Table.Table {
  const table = new Table({
    head,
    style: { head: chalk.level > 0 ? ['bold'] : [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    ...options,
  });
  const keepColour = chalk.level > 0;
  const safe = (cell: Table.Cell): Table.Cell =>
    typeof cell === 'string'
      ? visible(cell, { keepColour })
      : typeof cell === 'object' && cell !== null && typeof cell.content === 'string'
        ? { ...cell, content: visible(cell.content, { keepColour }) }
        : cell;
  const push = table.push.bind(table);
  table.push = (...rows) => push(...rows.map((row) => (Array.isArray(row) ? row.map(safe) : row)));
  return table;
}
