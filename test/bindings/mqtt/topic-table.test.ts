/** The MQTT topic table and forms: one layout for what the node serves and what its TDs say; names never become wildcards. Pure. */
import t from 'tap';
import { mqttForms, MQV_NAMESPACE } from '../../../src/bindings/mqtt/mqtt-forms.js';
import { replyTopic, TopicTable } from '../../../src/bindings/mqtt/topic-table.js';
import { parseCommandLine, DEFAULTS } from '../../../src/config.js';
import type { ThingDescription } from '../../../src/td/thing-description.js';

t.test('request topics parse back to what they name; names with / + # stay one level', async (t) => {
  const topics = new TopicTable('site/a');
  t.equal(topics.write('lamp', 'on/off+#'), 'site/a/lamp/properties/on%2Foff%2B%23/set');
  t.same(topics.parse(topics.write('lamp', 'on/off+#')), { kind: 'write', thing: 'lamp', name: 'on/off+#' });
  t.same(topics.parse(topics.action('lamp', 'blink')), { kind: 'invoke', thing: 'lamp', name: 'blink' });
  t.equal(topics.parse(topics.property('lamp', 'on')), undefined, 'a value topic is no request');
  t.equal(topics.parse(replyTopic(topics.write('lamp', 'on'))), undefined, 'nor an answer');
  t.equal(topics.parse('other/lamp/actions/blink'), undefined);
  t.equal(topics.parse('site/a/lamp/actions/%E0%A4%A'), undefined, 'a level that does not decode');
  t.same(topics.requestFilters(), ['site/a/+/properties/+/set', 'site/a/+/actions/+']);
});

const TD = {
  '@context': 'https://www.w3.org/2022/wot/td/v1.1',
  title: 'T',
  properties: { on: { type: 'boolean', observable: true }, secret: { type: 'string', writeOnly: true }, quiet: { type: 'number' } },
  actions: { go: {}, slow: { synchronous: false } },
  events: {},
} as unknown as ThingDescription;

t.test('forms: read+observe only for observable properties, no MQTT form for asynchronous actions, none that writes when credentials are required', async (t) => {
  const options = { topics: new TopicTable('flowchain'), brokerFor: () => 'mqtt://h:1' };
  const open = mqttForms({ td: TD, id: 'urn:x', slug: 't' }, { base: 'http://h/', protectedScheme: undefined }, options);
  t.same(open.context, { mqv: MQV_NAMESPACE });
  t.same(open.properties!.on!.map((f) => f.op), [['readproperty', 'observeproperty'], ['unobserveproperty'], ['writeproperty']]);
  t.same(open.properties!.secret!.map((f) => f.op), [['writeproperty']], 'write-only: no retained value');
  t.same(open.properties!.quiet!.map((f) => f.op), [['writeproperty']], 'not observable: nothing is published, so nothing to read');
  t.same(open.actions!.slow, []);
  t.same(open.forms!.map((f) => [f.op, f['mqv:filter']]), [[['observeallproperties'], 'flowchain/t/properties/+'], [['unobserveallproperties'], 'flowchain/t/properties/+']]);
  const guarded = mqttForms({ td: TD, id: 'urn:x', slug: 't' }, { base: 'http://h/', protectedScheme: 'bearer_sc' }, options);
  const ops = [...Object.values(guarded.properties!), ...Object.values(guarded.actions!)].flat().flatMap((f) => f.op as string[]);
  t.same([...new Set(ops)].sort(), ['observeproperty', 'readproperty', 'unobserveproperty']);
});

t.test('options: the embedded broker on 1883 by default, off, a broker URL without credentials, its files only with it', async (t) => {
  t.equal(DEFAULTS.mqtt, undefined);
  t.equal(DEFAULTS.mqttPort, 1883);
  const parse = (argv: string[]) => parseCommandLine({ argv: ['start', ...argv], env: {}, readFile: () => '', defaultThings: 'things' }).config;
  t.equal(parse(['--mqtt', 'off']).mqtt, 'off');
  t.equal(parse(['--mqtt', 'mqtts://broker.example:8883/']).mqtt, 'mqtts://broker.example:8883');
  t.throws(() => parse(['--mqtt', 'mqtt://u:p@broker.example']), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: '--mqtt' });
  t.throws(() => parse(['--mqtt', 'http://broker.example']), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: '--mqtt' });
  t.throws(() => parse(['--mqtt-password-file', '/p']), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: '--mqtt-password-file' });
  t.throws(() => parse(['--mqtt-prefix', 'a/#']), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: '--mqtt-prefix' });
  t.equal(parse(['--mqtt', 'mqtt://b:1883', '--mqtt-username', 'node', '--mqtt-password-file', '/p']).mqttUsername, 'node');
});
