/**
 * RFC 6570 expansion against the RFC's own examples (§3.2, its variables), level by level, and
 * the round trip a consumer relies on: any string put into `{v}` or `{?v}` comes back out of
 * the URL a server parses.
 */
import fc from 'fast-check';
import t from 'tap';
import { UriTemplate, type TemplateValue } from '../../src/client/uri-template.js';

/** RFC 6570 §3.2: the variables of the examples. */
const VARIABLES: Record<string, TemplateValue> = {
  count: ['one', 'two', 'three'],
  dom: ['example', 'com'],
  dub: 'me/too',
  hello: 'Hello World!',
  half: '50%',
  var: 'value',
  who: 'fred',
  base: 'http://example.com/home/',
  path: '/foo/bar',
  list: ['red', 'green', 'blue'],
  keys: { semi: ';', dot: '.', comma: ',' },
  v: '6',
  x: '1024',
  y: '768',
  empty: '',
  empty_keys: {},
  undef: null,
};

const EXAMPLES: Record<string, [string, string][]> = {
  'level 1, simple (§3.2.2)': [
    ['{var}', 'value'],
    ['{hello}', 'Hello%20World%21'],
    ['{half}', '50%25'],
    ['O{empty}X', 'OX'],
    ['O{undef}X', 'OX'],
    ['{x,y}', '1024,768'],
    ['{x,hello,y}', '1024,Hello%20World%21,768'],
    ['?{x,empty}', '?1024,'],
    ['?{x,undef}', '?1024'],
    ['?{undef,y}', '?768'],
    ['{var:3}', 'val'],
    ['{var:30}', 'value'],
    ['{list}', 'red,green,blue'],
    ['{list*}', 'red,green,blue'],
    ['{keys}', 'semi,%3B,dot,.,comma,%2C'],
    ['{keys*}', 'semi=%3B,dot=.,comma=%2C'],
    ['{base}index', 'http%3A%2F%2Fexample.com%2Fhome%2Findex'],
  ],
  'level 2, reserved and fragment (§3.2.3, §3.2.4)': [
    ['{+var}', 'value'],
    ['{+hello}', 'Hello%20World!'],
    ['{+half}', '50%25'],
    ['{+base}index', 'http://example.com/home/index'],
    ['O{+empty}X', 'OX'],
    ['{+path}/here', '/foo/bar/here'],
    ['here?ref={+path}', 'here?ref=/foo/bar'],
    ['up{+path}{var}/here', 'up/foo/barvalue/here'],
    ['{+x,hello,y}', '1024,Hello%20World!,768'],
    ['{+path,x}/here', '/foo/bar,1024/here'],
    ['{+path:6}/here', '/foo/b/here'],
    ['{+list}', 'red,green,blue'],
    ['{+keys}', 'semi,;,dot,.,comma,,'],
    ['{+keys*}', 'semi=;,dot=.,comma=,'],
    ['{#var}', '#value'],
    ['{#hello}', '#Hello%20World!'],
    ['{#half}', '#50%25'],
    ['foo{#empty}', 'foo#'],
    ['foo{#undef}', 'foo'],
    ['{#x,hello,y}', '#1024,Hello%20World!,768'],
    ['{#path,x}/here', '#/foo/bar,1024/here'],
    ['{#path:6}/here', '#/foo/b/here'],
    ['{#list}', '#red,green,blue'],
    ['{#keys*}', '#semi=;,dot=.,comma=,'],
  ],
  'level 3, label and path segments (§3.2.5, §3.2.6)': [
    ['{.who}', '.fred'],
    ['{.who,who}', '.fred.fred'],
    ['{.half,who}', '.50%25.fred'],
    ['www{.dom*}', 'www.example.com'],
    ['X{.var}', 'X.value'],
    ['X{.empty}', 'X.'],
    ['X{.undef}', 'X'],
    ['X{.var:3}', 'X.val'],
    ['X{.list}', 'X.red,green,blue'],
    ['X{.list*}', 'X.red.green.blue'],
    ['X{.keys}', 'X.semi,%3B,dot,.,comma,%2C'],
    ['X{.keys*}', 'X.semi=%3B.dot=..comma=%2C'],
    ['X{.empty_keys}', 'X'],
    ['X{.empty_keys*}', 'X'],
    ['{/who}', '/fred'],
    ['{/who,who}', '/fred/fred'],
    ['{/half,who}', '/50%25/fred'],
    ['{/who,dub}', '/fred/me%2Ftoo'],
    ['{/var}', '/value'],
    ['{/var,empty}', '/value/'],
    ['{/var,undef}', '/value'],
    ['{/var,x}/here', '/value/1024/here'],
    ['{/var:1,var}', '/v/value'],
    ['{/list}', '/red,green,blue'],
    ['{/list*}', '/red/green/blue'],
    ['{/list*,path:4}', '/red/green/blue/%2Ffoo'],
    ['{/keys}', '/semi,%3B,dot,.,comma,%2C'],
    ['{/keys*}', '/semi=%3B/dot=./comma=%2C'],
  ],
  'level 3, parameters and queries (§3.2.7-§3.2.9)': [
    ['{;who}', ';who=fred'],
    ['{;half}', ';half=50%25'],
    ['{;empty}', ';empty'],
    ['{;v,empty,who}', ';v=6;empty;who=fred'],
    ['{;v,bar,who}', ';v=6;who=fred'],
    ['{;x,y}', ';x=1024;y=768'],
    ['{;x,y,empty}', ';x=1024;y=768;empty'],
    ['{;x,y,undef}', ';x=1024;y=768'],
    ['{;hello:5}', ';hello=Hello'],
    ['{;list}', ';list=red,green,blue'],
    ['{;list*}', ';list=red;list=green;list=blue'],
    ['{;keys}', ';keys=semi,%3B,dot,.,comma,%2C'],
    ['{;keys*}', ';semi=%3B;dot=.;comma=%2C'],
    ['{?who}', '?who=fred'],
    ['{?half}', '?half=50%25'],
    ['{?x,y}', '?x=1024&y=768'],
    ['{?x,y,empty}', '?x=1024&y=768&empty='],
    ['{?x,y,undef}', '?x=1024&y=768'],
    ['{?var:3}', '?var=val'],
    ['{?list}', '?list=red,green,blue'],
    ['{?list*}', '?list=red&list=green&list=blue'],
    ['{?keys}', '?keys=semi,%3B,dot,.,comma,%2C'],
    ['{?keys*}', '?semi=%3B&dot=.&comma=%2C'],
    ['{&who}', '&who=fred'],
    ['{&half}', '&half=50%25'],
    ['?fixed=yes{&x}', '?fixed=yes&x=1024'],
    ['{&x,y,empty}', '&x=1024&y=768&empty='],
    ['{&var:3}', '&var=val'],
    ['{&list}', '&list=red,green,blue'],
    ['{&list*}', '&list=red&list=green&list=blue'],
    ['{&keys}', '&keys=semi,%3B,dot,.,comma,%2C'],
    ['{&keys*}', '&semi=%3B&dot=.&comma=%2C'],
  ],
};

for (const [level, examples] of Object.entries(EXAMPLES)) {
  t.test(`expands RFC 6570's examples: ${level}`, async (t) => {
    for (const [template, expected] of examples) t.equal(UriTemplate.parse(template).expand(VARIABLES), expected, template);
  });
}

t.test('names every variable with its operator and modifiers', async (t) => {
  t.same(UriTemplate.parse('things/{id}/x{?diff,n:3}{&list*}').variables, [
    { name: 'id', operator: '', explode: false },
    { name: 'diff', operator: '?', explode: false },
    { name: 'n', operator: '?', explode: false, prefix: 3 },
    { name: 'list', operator: '&', explode: true },
  ]);
  t.same(UriTemplate.parse('things').variables, []);
});

t.test('numbers and booleans are written as JSON writes them; literals keep reserved characters and escape the rest', async (t) => {
  t.equal(UriTemplate.parse('events/thing_created{?diff,limit}').expand({ diff: true, limit: 2.5 }), 'events/thing_created?diff=true&limit=2.5');
  t.equal(UriTemplate.parse('a b/{x}?q=%41&r=é').expand({ x: 'ü' }), 'a%20b/%C3%BC?q=%41&r=%C3%A9');
});

t.test('a template that is not RFC 6570 fails with FLOWCHAIN_ERR_TD_INVALID', async (t) => {
  for (const bad of ['things/{id', 'things/id}', '{}', '{!x}', '{=x}', '{x:0}', '{x:10000}', '{x:3*}', '{a b}', '{x,}', '{.}']) {
    t.throws(() => UriTemplate.parse(bad), { code: 'FLOWCHAIN_ERR_TD_INVALID', field: 'href' }, bad);
  }
});

t.test('any string comes back out of a simple or a form-style query expansion as a server parses it', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (value) => {
        const path = UriTemplate.parse('{v}').expand({ v: value });
        const query = new URL(UriTemplate.parse('http://node/search{?v}').expand({ v: value }));
        return /^[A-Za-z0-9\-._~%]*$/.test(path) && decodeURIComponent(path) === value && query.searchParams.get('v') === value;
      }),
    ),
  );
});
