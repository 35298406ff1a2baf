// The account store answers in English (that text goes to the audit log); the pages show it in the
// reader's language. Anything not recognised is shown as it is rather than guessed.
import type { Catalogue } from './index.js';

export function passwordProblemText(t: Catalogue, problem: string): string {
  const p = problem.replace(/^(new password|password): /, '');
  const short = /^at least (\d+) characters$/.exec(p);
  if (short) return t['password.tooShort'](Number(short[1]));
  if (p === 'must not contain the account name') return t['password.containsName'];
  if (p === 'must differ from the current one') return t['password.sameAsCurrent'];
  if (p === 'current password is wrong') return t['password.wrongCurrent'];
  return problem;
}

export function accountProblemText(t: Catalogue, problem: string): string {
  if (problem.startsWith('name: 2-32 characters')) return t['accounts.badName'];
  if (problem === 'role: unknown role') return t['accounts.badRole'];
  const exists = /^name: account "(.*)" exists$/.exec(problem);
  if (exists) return t['accounts.exists'](exists[1]!);
  if (problem.startsWith('password: ')) return t['accounts.badPassword'](passwordProblemText(t, problem));
  return problem;
}
