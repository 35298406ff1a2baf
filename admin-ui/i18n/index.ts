// Display language of the admin UI: Japanese by default, English per account. The JSON API stays
// language-neutral; only pages use these catalogues.
import { en } from './en.js';
import { ja } from './ja.js';

/** Every language has every key of en.ts with the same parameters. */
export type Catalogue = typeof en;
export const LANGS = ['ja', 'en'] as const;
export type Lang = (typeof LANGS)[number];
export const DEFAULT_LANG: Lang = 'ja';
export const isLang = (x: unknown): x is Lang => typeof x === 'string' && (LANGS as readonly string[]).includes(x);

export const catalogue = (lang: Lang): Catalogue => (lang === 'en' ? en : ja);

/** The login page (no account yet): the browser's first supported language, Japanese otherwise. */
export function langFromAcceptLanguage(header: string | undefined): Lang {
  const ranked = (header ?? '')
    .split(',')
    .map((part, i) => {
      const [tag, ...params] = part.trim().toLowerCase().split(';');
      const q = Number(
        params
          .find((p) => p.trim().startsWith('q='))
          ?.trim()
          .slice(2) ?? '1',
      );
      return { base: (tag ?? '').split('-')[0] ?? '', q: Number.isFinite(q) ? q : 0, i };
    })
    .filter((x) => x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  return ranked.map((x) => x.base).find(isLang) ?? DEFAULT_LANG;
}
