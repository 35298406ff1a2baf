// What a simulated upstream node knows about people: seeded from the deterministic resident generator
// and kept current by the identity notifications it receives. In memory: a simulator, not a register.
export interface SimPerson {
  residentCode: string;
  myNumber?: string;
  name?: string;
  nameKana?: string;
  birthDate?: string;
  sex?: string;
  address?: string;
  lgCode?: string;
  [field: string]: unknown;
}

export class SimDirectory {
  private readonly byCode = new Map<string, SimPerson>();
  private readonly byNumber = new Map<string, string>();

  constructor(people: Iterable<SimPerson> = []) {
    for (const p of people) this.put(p);
  }

  put(p: SimPerson): void {
    this.byCode.set(p.residentCode, p);
    if (p.myNumber) this.byNumber.set(p.myNumber, p.residentCode);
  }

  get size(): number {
    return this.byCode.size;
  }
  byResidentCode(code: string): SimPerson | undefined {
    return this.byCode.get(code);
  }
  byMyNumber(n: string): SimPerson | undefined {
    const c = this.byNumber.get(n);
    return c ? this.byCode.get(c) : undefined;
  }

  /** 4-item style search: exact name (spaces ignored) plus birth date or address prefix. */
  search(
    q: { name?: string; kana?: string; birthDate?: string; address?: string; lgCodePrefix?: string },
    cap = 50,
  ): SimPerson[] | 'too_many' {
    const norm = (s: string | undefined) => (s ?? '').replace(/[\s\u3000]/g, '');
    const out: SimPerson[] = [];
    for (const p of this.byCode.values()) {
      if (q.name && norm(p.name) !== norm(q.name)) continue;
      if (q.kana && norm(p.nameKana) !== norm(q.kana)) continue;
      if (q.birthDate && p.birthDate !== q.birthDate) continue;
      if (q.address && !norm(p.address).includes(norm(q.address))) continue;
      if (q.lgCodePrefix && !(p.lgCode ?? '').startsWith(q.lgCodePrefix)) continue;
      out.push(p);
      if (out.length > cap) return 'too_many';
    }
    return out;
  }
}
