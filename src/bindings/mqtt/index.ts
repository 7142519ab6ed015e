/**
 * The MQTT binding, one folder: the server side (the node publishes its Things' values and
 * events to a broker, its own embedded one or the user's, and takes writes and invocations
 * from it), the client side, both built on one topic table. What the composition root and the
 * rest of the code take from it.
 */
export { mqttClient, MqttConnection } from './client/mqtt-client-binding.js';
export { EmbeddedBroker } from './embedded-broker.js';
export { MQV_CONTEXT, MQV_NAMESPACE, mqttForms } from './mqtt-forms.js';
export { MqttServerBinding, mqttServerBindingOf, type MqttBrokerOptions, type MqttServerComponents, type MqttServerInit } from './mqtt-server-binding.js';
export { TopicTable } from './topic-table.js';
