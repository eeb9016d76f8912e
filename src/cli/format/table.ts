import Table from 'cli-table3';
import type { ChalkInstance } from 'chalk';

/** The tables of the CLI: a bold header when colour is on, no rules between rows. */
export function plainTable(
  head: string[],
  chalk: ChalkInstance,
  options: { wordWrap?: boolean } = {},
): Table.Table {
  return new Table({
    head,
    style: { head: chalk.level > 0 ? ['bold'] : [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    ...options,
  });
}
