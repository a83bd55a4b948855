import { invalidArgument } from '../server/errors.js';
import type { KeyPart } from '../store/index.js';
import type { Clock } from './clock.js';
import { newId } from './ids.js';
import { USAGE_KINDS, type UsageEvent, type UsageRecorder } from './ports.js';
import type { AccountRecords, StoredInvoice, StoredUsage } from './records.js';

export interface UsagePage {
  records: StoredUsage[];
  nextCursor: string;
}

/** Usage records (what a tenant used, when, how much) and the invoices made from them. */
export class UsageLedger implements UsageRecorder {
  constructor(
    private readonly records: AccountRecords,
    private readonly clock: Clock,
  ) {}

  async record(event: UsageEvent): Promise<void> {
    if (!(USAGE_KINDS as readonly string[]).includes(event.kind)) throw new RangeError(`unknown usage kind ${event.kind}`);
    if (!Number.isSafeInteger(event.quantity) || event.quantity < 0)
      throw new RangeError('usage quantity must be a whole number ≥ 0');
    if (!(event.startMs <= event.endMs)) throw new RangeError('usage must end at or after its start');
    const tenant = this.records.tenants.get(event.tenantId);
    // Work that finished after its tenant was erased must not recreate data about it.
    if (!tenant || tenant.erasedMs !== undefined) return;
    const record: StoredUsage = { id: newId('us'), invoiceId: '', ...event };
    await this.records.usage.put([event.tenantId, event.startMs, record.id], record);
  }

  /** Records of a tenant (or of one user in it) starting in [startMs, endMs), oldest first. */
  list(
    tenantId: string,
    userId: string | null,
    range: { startMs: number; endMs: number },
    pageSize: number,
    cursor: string,
  ): UsagePage {
    if (range.startMs < 0 || range.endMs < 0) throw invalidArgument('range must not be negative');
    if (range.endMs !== 0 && range.startMs >= range.endMs) throw invalidArgument('range.start_ms must be before range.end_ms');
    if (pageSize > 1000) throw invalidArgument('page_size must be at most 1000');
    const size = pageSize === 0 ? 100 : pageSize;
    let start: KeyPart[] = [tenantId, range.startMs];
    let after: string | undefined;
    if (cursor !== '') {
      const c = decodeCursor(cursor);
      start = [tenantId, Math.max(c.startMs, range.startMs), c.id];
      after = c.id;
    }
    const end: KeyPart[] = range.endMs === 0 ? [tenantId, '\uffff'] : [tenantId, range.endMs];
    const out: StoredUsage[] = [];
    let more = false;
    for (const { value } of this.records.usage.getRange({ start, end })) {
      if (after !== undefined && value.id === after) continue;
      if (userId !== null && value.userId !== userId) continue;
      if (out.length === size) {
        more = true;
        break;
      }
      out.push(value);
    }
    const last = out[out.length - 1];
    return { records: out, nextCursor: more && last ? encodeCursor(last.startMs, last.id) : '' };
  }

  /** Bills every unbilled record that started in [startMs, endMs): one invoice per tenant that used something. */
  async closePeriod(startMs: number, endMs: number, sendMs: number): Promise<StoredInvoice[]> {
    const now = this.clock.now();
    if (startMs < 0 || endMs <= startMs) throw invalidArgument('start_ms must be ≥ 0 and before end_ms');
    if (endMs > now) throw invalidArgument('the period has not ended yet');
    const sentMs = sendMs === 0 ? now : sendMs;
    if (sentMs < endMs) throw invalidArgument('send_ms must not be before the end of the period');
    const invoices: StoredInvoice[] = [];
    for (const { key, value: tenant } of this.records.tenants.getRange({})) {
      if (tenant.erasedMs !== undefined) continue;
      const tenantId = String(key);
      const unbilled = [...this.records.usage.getRange({ start: [tenantId, startMs], end: [tenantId, endMs] })].filter(
        (e) => e.value.invoiceId === '',
      );
      if (unbilled.length === 0) continue;
      const invoice: StoredInvoice = { id: newId('inv'), tenantId, startMs, endMs, sentMs, totals: {} };
      for (const { value } of unbilled) invoice.totals[value.kind] = (invoice.totals[value.kind] ?? 0) + value.quantity;
      await this.records.store.atomic(() => {
        this.records.invoices.put([tenantId, invoice.id], invoice);
        for (const { key: k, value } of unbilled) this.records.usage.put(k, { ...value, invoiceId: invoice.id });
      });
      invoices.push(invoice);
    }
    return invoices;
  }

  invoicesOf(tenantId: string): StoredInvoice[] {
    return [...this.records.invoices.getRange({ start: [tenantId], end: [tenantId, '\uffff'] }).map((e) => e.value)];
  }
}

function encodeCursor(startMs: number, id: string): string {
  return Buffer.from(JSON.stringify([startMs, id])).toString('base64url');
}

function decodeCursor(cursor: string): { startMs: number; id: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string' && v[1].length <= 64) {
      return { startMs: v[0] as number, id: v[1] };
    }
  } catch {
    // fall through
  }
  throw invalidArgument('cursor is not one this server returned');
}
