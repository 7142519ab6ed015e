/**
 * Flowchain's public API: what an application imports (`import { createServient } from
 * 'flowchain'`) to run a node, expose its own devices as W3C WoT Things and consume the Things
 * of other nodes. Everything else under src/ is internal and may change between releases.
 *
 * The shapes follow the W3C WoT Scripting API (produce/expose an ExposedThing with handlers,
 * consume a ConsumedThing through a TD's forms); README.md, "Writing your own Thing", walks
 * through them.
 */
export { createServient, Servient, type Address, type ProduceOptions, type ServientBindings, type ServientComponents, type ServientOptions } from './servient.js';
export type { Config } from './config.js';
export {
  ExposedThing,
  type ActionHandler,
  type ActionOptions,
  type PropertyChange,
  type PropertyReadHandler,
  type PropertyWriteHandler,
  type ThingEvent,
  type Unsubscribe,
  type WatchHandler,
} from './thing/exposed-thing.js';
export type { InteractionInput, InteractionOutput } from './thing/interaction-output.js';
export type { ActionState, ActionStatus } from './thing/action-store.js';
export type { JournalReceipt } from './thing/change-journal.js';
export {
  ConsumedThing,
  consumeThing,
  fetchThingDescription,
  type ActionInvocation,
  type ConsumeOptions,
  type HistoryItem,
  type HistoryOptions,
  type HistoryResult,
  type InteractionOptions,
  type RemoteActionStatus,
  type Subscription,
  type WriteResult,
} from './client/consumed-thing.js';
export { exploreDirectory, ThingDiscoveryProcess, type ThingFilter } from './client/discovery.js';
export type { Binding, Credentials } from './client/forms.js';
export { actionStatus, answered } from './thing/protocol-binding.js';
/** The MQTT binding's client side, for consumeThing() outside a servient (a servient's consume() has it already). */
export { mqttClient } from './bindings/mqtt/index.js';
/** The CoAP binding's client side, for consumeThing() outside a servient (a servient's consume() has it already). */
export { coapClient } from './bindings/coap/index.js';
export type {
  BindingForms,
  BindingHost,
  BindingLog,
  BindingName,
  BindingSubscription,
  BindingThings,
  ClientBinding,
  ClientContext,
  Closable,
  CredentialRule,
  DescribedThing,
  FormExposure,
  FormSource,
  PresentedCredentials,
  ResolvedForm,
  ServerBinding,
  StartedAction,
} from './thing/protocol-binding.js';
export { emitLater, numberOption, requireAffordances, type Device, type DeviceContext, type DeviceFactory } from './devices/device.js';
export { environmentSensor } from './devices/environment-sensor.js';
export { thermostat } from './devices/thermostat.js';
export { smartPlug } from './devices/smart-plug.js';
export { nearestAllowed } from './devices/nearest-allowed.js';
export { ERRORS, FlowchainError, isFlowchainError, type ErrorCode } from './errors.js';
export { systemClock, type Clock, type Timer } from './common/clock.js';
export type { Random } from './common/random.js';
export type { ActionAffordance, DataSchema, EventAffordance, Form, PropertyAffordance, ThingDescription, ThingFragment } from './td/thing-description.js';
export { verifyReceipt, type ReceiptCheck, type ReceiptTrust } from './ledger/receipt.js';
export type { LedgerEvent, LedgerPlugin, LedgerProof, OpenBlock, TransactionRecord, VerifyReport } from './broker/ledger-sink.js';
/** The shapes the node's `alerts` Thing speaks (its rules, alerts and createRule input), for typed consumers of it. */
export { ALERTS_THING } from './alerts/alerts-thing.js';
export type { Alert, AlertRule, AlertRuleInput, Comparison, Threshold } from './alerts/alert-rules.js';
export { blockHash, transactionId, type BatchSignature, type DataTransaction } from './broker/data-transaction.js';
export type { Anchorer } from './ledger/anchoring.js';
export type { WirePeer } from './common/peer-rpc.js';
