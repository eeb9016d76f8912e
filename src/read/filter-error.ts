import { InvalidArgumentError } from '../format/errors.js';

// Its own module so that the CLI can tell it apart without loading the filter (and the schema).
/**
 * A field of an EventFilter that cannot be used, named in library terms (`where`, `grep`); `detail`
 * says why without naming the field, so a caller (the CLI) can name it its own way (issue 12).
 */
export class FilterError extends InvalidArgumentError {
  constructor(
    readonly field: 'where' | 'grep',
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}
