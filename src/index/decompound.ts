/**
 * German compound splitting, dictionary based.
 *
 * Approach: a compact built-in lexicon of common German nouns and stems (folded: ä→ae, ö→oe, ü→ue,
 * ß→ss) drives a dynamic-programming split of a folded word into the fewest lexicon parts, allowing the
 * linking elements (Fugen) -s-, -es-, -n-, -en-, -er-, -e- between parts and an inflection ending on the
 * last part. The lexicon is built in (not the corpus' own dictionary) so that a document analyses the
 * same way whatever else the tenant holds: results stay reproducible after a drop and rebuild.
 * Compounds themselves are kept out of the lexicon, so "datenschutzerklaerung" splits into
 * daten|schutz|erklaerung and the indexer emits every contiguous run of parts ("datenschutz",
 * "schutzerklaerung", "erklaerung", …) at the word's position; a query for "Datenschutz" or "Erklärung"
 * then finds the compound. Queries are not split (precision).
 *
 * The parts are indexed as terms of their own, marked (`partTerm`), not as the terms of the words they
 * spell: a query word reads both its whole-word terms and their part terms, and a part's frequency counts
 * below a whole word's (search-index.ts termGroup), so a letter saying "Kaution" ranks above one saying
 * "Mietkaution".
 */
import { FNV_BASIS, FNV_PRIME, hashRange, SliceTable } from './slice-table.js';

const WORDS = `
abend abfall abgabe ablauf abrechnung absender abschluss abschnitt abteilung adresse akte aktie amt
angebot angabe anlage anmeldung anschrift anspruch antrag anteil antwort anwalt anzeige apotheke arbeit
arbeitgeber arbeitnehmer art arzt aufgabe auftrag ausgabe auskunft ausweis auto bahn bank bau beamte
bedarf befund beginn beitrag beleg bereich bericht beruf bescheid beschwerde besitz bestand bestellung
betrag betrieb bewerbung bezug bild bildung blatt boden brief buch buero bund bundes buerger daten datum
dauer dienst dokument dorf druck eigentum einkommen einnahme einzug eltern empfang empfaenger energie
entgelt ergebnis erklaerung ertrag fach fahrt fahrzeug fall familie farbe fehler feld fenster fest
finanz firma fluss folge form formular frage frau frist fuehrung gas gebaeude gebuehr geburt gehalt
geld gemeinde gericht gesamt geschaeft gesellschaft gesetz gesundheit gewerbe gewinn glas grund gruppe
gut gutschein gutschrift hafen haft halter hand handel haus haushalt heft heim heizung herr hilfe hof
holz hotel immobilie information inhaber inhalt jahr kaeufer kammer kapital karte kasse kauf kennung
kind kirche klage klasse konto kontrolle kopie kosten kraft krankheit kranken kredit kreis kuendigung
kunde kunden kurs land lager last leben lehrer leistung liste lohn luft mahnung mann markt maschine
mehrwert meister melde menge miete mieter mitglied mittel monat nachweis nahme name netz nummer
ordnung ort papier partner pass person pflege pflicht plan platz police post preis privat produkt
protokoll pruefung quittung rahmen rat raum recht rechnung regel reise rente rest rueck sache satz
schaden schein schluss schrift schreiben schuld schule schutz see seite service sicherheit sitz
sozial speicher sprache staat stadt stand stelle steuer strasse strom stunde summe system tag tarif
teil telefon termin text tier titel unfall unterlagen unternehmen unterschrift urlaub vater verband
verein verfahren vergleich verkauf verkehr verlag verlust vermoegen versand versicherung vertrag
vertrieb verwaltung vollmacht vorgang vorschrift vorsorge wagen wahl waren wasser wechsel weg welt
werk wert wetter wirtschaft wissen wohnung zahl zahlung zeit zeitung zentrum zertifikat zins zoll
zug zugang zulassung zusatz zweck miet wohn tuer auszug vertraege auszuege kosten
kaution neben voraus verbrauch eingang ausgang spar kalt warm heiz abschlag guthaben erstattung wartung
reparatur beratung bestaetigung mitteilung vereinbarung genehmigung ueberweisung garten
`;

/**
 * The first code unit of a compound part's term: a control character, which the analyser never puts in a
 * term (tokens are letters, marks and digits), so a part term can never be a word's, and it sorts before
 * every word term (a prefix's range over the words never meets one).
 */
export const PART_MARK = '\u0001';

/** The term a compound part `term` is indexed as. */
export function partTerm(term: string): string {
  return PART_MARK + term;
}

/** Whether `term` is a compound part's term. */
export function isPartTerm(term: string): boolean {
  return term.charCodeAt(0) === 1;
}

/** A term as a word: a part term without its mark, any other as it is. */
export function wordOfTerm(term: string): string {
  return isPartTerm(term) ? term.slice(1) : term;
}

const LEXICON_WORDS = [...new Set(WORDS.split(/\s+/).filter((w) => w.length > 0))];
/** The lexicon, looked up by a range of the word (a split tries ~n²/2 ranges of every new word). */
const LEXICON = new SliceTable(LEXICON_WORDS.length);
for (const w of LEXICON_WORDS) LEXICON.add(w, hashRange(w, 0, w.length));
const MAX_LEXICON_WORD = Math.max(...LEXICON_WORDS.map((w) => w.length));
/** hashRange(word, i, j) for j = i … n, per split (words are at most 64 characters). */
const RANGE_HASH = new Int32Array(65);

/** Linking elements allowed after a non-final part. */
const LINKS = ['', 's', 'es', 'n', 'en', 'er', 'e'];
/** Inflection endings allowed on the final part. */
const ENDINGS = ['', 'e', 'en', 'n', 's', 'es', 'er', 'ern', 'nen'];

const MIN_PART = 3;
const MIN_WORD = 7;
const MAX_PARTS = 4;

/**
 * Split a folded, lower-case word into lexicon parts (in their lexicon form), or return undefined when it is
 * not a compound of known parts.
 */
export function splitCompound(word: string): CompoundPart[] | undefined {
  const n = word.length;
  if (n < MIN_WORD || n > 64 || !/^[a-z]+$/.test(word)) return undefined;
  // best[i]: fewest parts covering word[i..] (Infinity when impossible); next[i]: the part chosen at i.
  const best = new Array<number>(n + 1).fill(Number.POSITIVE_INFINITY);
  const part = new Array<string | undefined>(n + 1);
  const step = new Array<number>(n + 1).fill(0);
  best[n] = 0;
  for (let i = n - MIN_PART; i >= 0; i--) {
    const top = Math.min(n, i + MAX_LEXICON_WORD);
    let h = FNV_BASIS;
    for (let j = i; j < top; j++) {
      h = Math.imul(h ^ word.charCodeAt(j), FNV_PRIME);
      RANGE_HASH[j + 1] = h;
    }
    for (let j = top; j >= i + MIN_PART; j--) {
      const id = LEXICON.find(word, i, j, RANGE_HASH[j]!);
      if (id < 0) continue;
      const cand = LEXICON.keys[id]!;
      if (j === n || ENDINGS.includes(word.slice(j))) {
        // final part, maybe with an inflection ending
        if (1 < best[i]!) {
          best[i] = 1;
          part[i] = cand;
          step[i] = n - i;
        }
        continue;
      }
      for (const link of LINKS) {
        if (link && !word.startsWith(link, j)) continue;
        const k = j + link.length;
        const rest = best[k]!;
        if (k < n && rest + 1 < best[i]!) {
          best[i] = rest + 1;
          part[i] = cand;
          step[i] = k - i;
        }
      }
    }
  }
  const count = best[0]!;
  if (count < 2 || count > MAX_PARTS) return undefined;
  const parts: CompoundPart[] = [];
  for (let i = 0; i < n && parts.length < count; i += step[i]!) {
    const lemma = part[i]!;
    parts.push({ lemma, start: i, lemmaEnd: i + lemma.length });
  }
  return parts;
}

/** One part of a split compound: its lexicon form and where it stands in the word. */
export interface CompoundPart {
  lemma: string;
  start: number;
  /** End of the lexicon form, before any linking element or ending. */
  lemmaEnd: number;
}

/**
 * Every contiguous run of parts except the whole word: the sub-words a compound is findable by. Runs of
 * several parts keep their inner linking elements ("lebens|versicherung" → "lebensversicherung").
 */
export function compoundSubwords(word: string, parts: readonly CompoundPart[]): string[] {
  const out: string[] = [];
  const last = parts.length - 1;
  for (let len = parts.length - 1; len >= 1; len--) {
    for (let a = 0; a + len <= parts.length; a++) {
      const b = a + len - 1;
      if (len === 1) out.push(parts[a]!.lemma);
      else out.push(word.slice(parts[a]!.start, b === last ? word.length : parts[b]!.lemmaEnd));
    }
  }
  return out;
}
