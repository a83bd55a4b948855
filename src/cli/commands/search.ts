import { status } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { type SearchHit, type Snippet, SortOrder } from '../../gen/archivar/v1/search.js';
import { MAX_SEARCH_LIMIT } from '../../sdk/index.js';
import { globalOptions } from '../client-options.js';
import { CliError, EXIT_USAGE, fromGrpcError, oneLine, printJson } from '../output.js';
import { parsePositiveInt } from './document-format.js';
import { withDocumentsClient } from './documents-client.js';

/** `archivar search "query"`: ranked hits with highlighted snippets and page numbers. */
export function registerSearchCommand(program: Command): void {
  program
    .command('search')
    .description('search your documents (query language: docs/search.md)')
    .argument(
      '<query>',
      'the query, e.g. "rechnung 2024 -entwurf" or "\\"exact phrase\\""; one that starts with - goes after --: archivar search -- -entwurf',
    )
    .option('--limit <n>', 'hits to show (1..100)', '10')
    .option('--cursor <cursor>', 'continue after a previous page (printed with --json)')
    .option('--sort <order>', 'score | date | date-asc | title', 'score')
    .option('--facets <fields>', 'count hits by type,year,tag,source,lang (comma separated)')
    .action(async (query: string, opts: { limit: string; cursor?: string; sort: string; facets?: string }, cmd: Command) => {
      const { json } = globalOptions(cmd);
      const limit = parsePositiveInt(opts.limit, '--limit', false);
      if (limit > MAX_SEARCH_LIMIT)
        throw new CliError(`--limit must be at most ${MAX_SEARCH_LIMIT}, got "${opts.limit}"`, EXIT_USAGE);
      const sort = SORT_FLAGS[opts.sort];
      if (sort === undefined) throw new CliError('--sort must be score, date, date-asc or title', EXIT_USAGE);
      const facets = opts.facets
        ? opts.facets
            .split(',')
            .map((f) => f.trim())
            .filter(Boolean)
        : [];
      await withDocumentsClient(cmd, async (client, signal) => {
        const res = await client
          .search(query, { limit, sort, facets, ...(opts.cursor ? { cursor: opts.cursor } : {}) }, { signal })
          .catch((err: unknown) => {
            // Search refuses only what the user typed (query syntax, --cursor, --facets): a usage error.
            const e = fromGrpcError(err);
            throw (err as { code?: unknown }).code === status.INVALID_ARGUMENT ? new CliError(e.message, EXIT_USAGE) : e;
          });
        if (json) {
          printJson({
            total: res.total,
            totalExact: res.totalExact,
            tookMicros: res.tookMicros,
            hits: res.hits.map((h) => ({
              id: h.documentId,
              score: h.score,
              title: h.title,
              fileName: h.fileName,
              mediaType: h.mediaType,
              pageCount: h.pageCount,
              createdMs: Number(h.createdMs),
              documentDateMs: Number(h.documentDateMs),
              parentId: h.parentId,
              snippets: h.snippets.map((s) => ({
                page: s.page,
                text: s.text,
                highlights: s.highlights,
                boxes: s.boxes,
                cutBefore: s.cutBefore,
                cutAfter: s.cutAfter,
              })),
            })),
            cursor: res.nextCursor,
            didYouMean: res.didYouMean,
            facets: Object.fromEntries(
              res.facets.map((f) => [f.field, Object.fromEntries(f.buckets.map((b) => [b.value, Number(b.count)]))]),
            ),
          });
          return;
        }
        const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
        // Beyond the exact-count bound the total is extrapolated from where counting stopped: about, not at least.
        const total = `${res.totalExact ? '' : 'about '}${res.total}`;
        process.stdout.write(`${total} hit${res.total === 1n ? '' : 's'} (${(Number(res.tookMicros) / 1000).toFixed(1)} ms)\n`);
        if (res.didYouMean) process.stdout.write(`did you mean: ${res.didYouMean}\n`);
        res.hits.forEach((h, i) => {
          const title = oneLine(h.title || h.fileName || h.documentId);
          // The date and title orders and queries of filters alone are not scored: every hit's score is 0.
          const score = h.score > 0 ? `  score ${h.score.toFixed(3)}` : '';
          process.stdout.write(`\n${i + 1}. ${color ? `\x1b[1m${title}\x1b[0m` : title}  ${h.documentId}${score}\n`);
          const facts = hitFacts(h);
          if (facts) process.stdout.write(`   ${facts}\n`);
          // An attachment or archive member: where to find the rest of it.
          if (h.parentId) process.stdout.write(`   part of ${h.parentId}\n`);
          for (const s of h.snippets) process.stdout.write(`   ${s.page > 0 ? `p.${s.page}: ` : ''}${highlight(s, color)}\n`);
        });
        for (const f of res.facets)
          process.stdout.write(`\n${f.field}: ${f.buckets.map((b) => `${b.value || '(none)'} ${b.count}`).join(', ') || '-'}\n`);
        if (res.nextCursor) process.stdout.write(`\nmore: --cursor ${res.nextCursor}\n`);
      });
    });
}

const SORT_FLAGS: Record<string, SortOrder> = {
  score: SortOrder.SORT_ORDER_SCORE,
  date: SortOrder.SORT_ORDER_DATE_DESC,
  'date-desc': SortOrder.SORT_ORDER_DATE_DESC,
  'date-asc': SortOrder.SORT_ORDER_DATE_ASC,
  title: SortOrder.SORT_ORDER_TITLE,
};

/**
 * What a hit is, under its title: media type, pages, its document date (when it has one of its own, not
 * the upload time it falls back to) and when it was uploaded, in UTC — `--sort date` orders by that date.
 */
function hitFacts(h: SearchHit): string {
  const facts: string[] = [];
  if (h.mediaType) facts.push(oneLine(h.mediaType));
  if (h.pageCount > 0) facts.push(`${h.pageCount} page${h.pageCount === 1 ? '' : 's'}`);
  const day = (ms: bigint) => new Date(Number(ms)).toISOString().slice(0, 10);
  if (h.documentDateMs > 0n) facts.push(`dated ${day(h.documentDateMs)}`);
  if (h.createdMs > 0n) facts.push(`uploaded ${new Date(Number(h.createdMs)).toISOString().slice(0, 16).replace('T', ' ')} UTC`);
  return facts.join(' · ');
}

/** The snippet with its hits marked: bold yellow on a terminal, »…« otherwise. */
function highlight(s: Snippet, color: boolean): string {
  // Offsets are into the original text: flatten whitespace (and drop control characters) per piece, after slicing.
  const text = s.text;
  let out = '';
  let at = 0;
  for (const h of [...s.highlights].sort((a, b) => a.start - b.start)) {
    if (h.start < at) continue;
    out += oneLine(text.slice(at, h.start));
    const word = oneLine(text.slice(h.start, h.end));
    out += color ? `\x1b[1;33m${word}\x1b[0m` : `»${word}«`;
    at = h.end;
  }
  out += oneLine(text.slice(at));
  return `${s.cutBefore ? '…' : ''}${out}${s.cutAfter ? '…' : ''}`;
}
