import type { Receipt } from './options.js';

/** How many producer-supplied ids are remembered for idempotent retries. */
const REMEMBERED_IDS = 65_536;

/** The receipts of the latest producer-supplied ids: an event whose id was written is not written again. */
export class RememberedIds {
  private readonly ids = new Map<string, Promise<Receipt>>();

  get(id: string): Promise<Receipt> | undefined {
    return this.ids.get(id);
  }

  remember(id: string, receipt: Promise<Receipt>): void {
    this.ids.set(id, receipt);
    // A failed append was not written, so a retry with the same id must be allowed to write it.
    receipt.catch(() => {
      if (this.ids.get(id) === receipt) this.ids.delete(id);
    });
    if (this.ids.size > REMEMBERED_IDS) {
      const oldest = this.ids.keys().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
  }
}
