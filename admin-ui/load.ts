// Loading one optional service figure: missing → "not available", failing → the error, never a guess.
export type Loaded<T> = { state: 'na' } | { state: 'ok'; value: T } | { state: 'error'; message: string };

export async function load<T>(f: (() => Promise<T>) | undefined): Promise<Loaded<T>> {
  if (!f) return { state: 'na' };
  try {
    return { state: 'ok', value: await f() };
  } catch (e) {
    return { state: 'error', message: (e as Error).message };
  }
}
