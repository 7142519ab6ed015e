/** The neutral TD builder: id, base, security and context are its own; forms, links and profiles come from the bindings, in their order. */
import t from 'tap';
import { buildThingDescription, type FormSource } from '../../src/td/td-builder.js';
import type { ThingDescription } from '../../src/td/thing-description.js';

const source = {
  '@context': ['https://www.w3.org/2022/wot/td/v1.1'],
  title: 'Lamp',
  forms: [{ href: 'ignored' }],
  properties: { on: { type: 'boolean' } },
  actions: { blink: {} },
  events: { burnout: {} },
} as ThingDescription;
const identity = { id: 'urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e', slug: 'lamp' };

/** A binding whose every form names it, so the order shows. */
const named = (scheme: string, extra: Partial<ReturnType<FormSource['formsFor']>> = {}): FormSource => ({
  formsFor: (thing, exposure) => ({
    properties: { on: [{ href: `${scheme}://x/${thing.slug}/on`, ...(exposure.protectedScheme ? { security: [exposure.protectedScheme] } : {}) }] },
    actions: { blink: [{ href: `${scheme}://x/blink` }] },
    events: { burnout: [{ href: `${scheme}://x/burnout` }] },
    forms: [{ href: `${scheme}://x/${thing.slug}`, op: 'readallproperties' }],
    ...extra,
  }),
});

t.test('without bindings a TD has its neutral parts and no forms', async (t) => {
  const td = buildThingDescription(source, identity, { base: 'http://node/', bearerAuth: false }, []);
  t.equal(td.id, identity.id);
  t.equal(td.base, 'http://node/');
  t.same(td.securityDefinitions, { nosec_sc: { scheme: 'nosec' } });
  t.same(td.forms, [], "the TD file's own forms are not served");
  t.same(td.properties!.on!.forms, []);
  t.equal(td.actions!.blink!.synchronous, true, 'an action says it is synchronous unless its TD says otherwise');
  t.equal(td.profile, undefined);
});

t.test("each binding's forms, links, profiles and prefixes are gathered in the bindings' order", async (t) => {
  const a = named('a', { links: [{ rel: 'alternate', href: 'a://x' }], profile: ['p1'] });
  const b = named('b', { profile: ['p1', 'p2'], context: { bv: 'https://example.org/b#' } });
  const td = buildThingDescription(source, identity, { base: 'http://node/', bearerAuth: true }, [a, b]);
  t.same(td.properties!.on!.forms!.map((f) => f.href), ['a://x/lamp/on', 'b://x/lamp/on']);
  t.same(td.properties!.on!.forms![0]!.security, ['bearer_sc'], 'the exposure names the scheme protected forms carry');
  t.same(td.events!.burnout!.forms!.map((f) => f.href), ['a://x/burnout', 'b://x/burnout']);
  t.same(td.forms!.map((f) => f.href), ['a://x/lamp', 'b://x/lamp']);
  t.same(td.links, [{ rel: 'alternate', href: 'a://x' }]);
  t.same(td.profile, ['p1', 'p2']);
  t.same((td['@context'] as unknown[]).at(-1), { bv: 'https://example.org/b#' });
});
