// 4-① 本人確認情報検索 with the seed's routing rule: a person registered in a municipality we serve is
// searched in the local store; elsewhere in our prefecture at the prefectural server; another
// prefecture or an unknown address at the national server. Hits are capped (too_many_hits), the duty
// code is required by the schema, and every search is audited (operator, terminal, duty code, hashed
// keys, hit count) — the audit log feeds the bulk / repeated look-up alarms.
import { routeSearch } from '../../../domain/routing.js';
import type { FlowHandler } from '../../local/types.js';
import { MAX_SEARCH_HITS } from '../../messages/index.js';
import { bodyOf, returnedKeys, selfNode, served, upstreamEnvelope, whoOf, type CsFlowDeps } from './shared.js';

export function identitySearch(deps: CsFlowDeps): FlowHandler {
  return async (req, ctx) => {
    const q = bodyOf(deps, req, 'identity.search');
    const limit = q.maxHits ?? MAX_SEARCH_HITS;
    const keys = [
      ...(q.name ? [deps.audit.key('name', q.name)] : []),
      ...(q.kana ? [deps.audit.key('kana', q.kana)] : []),
      ...(q.birthDate ? [deps.audit.key('birth', q.birthDate)] : []),
      ...(q.address ? [deps.audit.key('addr', q.address)] : []),
    ];
    const route = routeSearch({ address: q.address, lgCode: q.lgCode }, served(deps));
    if (route.kind !== 'local') {
      const to = route.kind === 'pref' ? route.node : 'national';
      const upstream = upstreamEnvelope(selfNode(deps), to, 'identity.search', { ...q, maxHits: limit });
      await deps.interactive.forward(req, ctx, upstream, {
        mapResult: (reply) => {
          const hits = Array.isArray(reply.body.hits) ? reply.body.hits : [];
          return { route: route.kind, hitCount: hits.length, hits };
        },
        auditOf: (reply) => ({
          keys: [...keys, ...returnedKeys(deps, reply.body.hits)],
          hitCount: Array.isArray(reply.body.hits) ? reply.body.hits.length : 0,
        }),
      });
      return;
    }
    const result = await deps.store.search(
      {
        ...(q.name ? { name: q.name } : {}),
        ...(q.kana ? { kana: q.kana } : {}),
        ...(q.birthDate ? { birthDate: q.birthDate } : {}),
        ...(q.address ? { address: q.address } : {}),
        ...(q.sex ? { sex: q.sex } : {}),
        ...(q.lgCode && served(deps).includes(q.lgCode) ? { lgCode: q.lgCode } : {}),
      },
      { limit },
    );
    if (result.truncated) {
      const uow = ctx.begin();
      ctx.fail(uow, 'too_many_hits', `more than ${limit} people match; narrow the search`, [
        { path: 'body', problem: `search.tooManyHits: at least ${result.total} matches, cap ${limit}` },
      ]);
      await deps.audit.record(uow, {
        ...whoOf(req),
        action: 'identity.search',
        outcome: 'refused',
        code: 'too_many_hits',
        keys,
        hitCount: result.total,
        detail: 'route local',
      });
      await uow.commit();
      return;
    }
    const uow = ctx.begin();
    ctx.reply(uow, { route: 'local', hitCount: result.hits.length, hits: result.hits });
    await deps.audit.record(uow, {
      ...whoOf(req),
      action: 'identity.search',
      outcome: 'ok',
      hitCount: result.hits.length,
      detail: 'route local',
      keys: [...keys, ...result.hits.map((h) => deps.audit.key('rc', h.residentCode))],
    });
    await uow.commit();
  };
}
