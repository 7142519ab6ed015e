/**
 * The part of the Node-RED runtime API (https://nodered.org/docs/creating-nodes/) the Flowchain
 * nodes use, typed here so that the rest of src/flows never sees an untyped runtime. Only what
 * the nodes call is declared; Node-RED supplies the rest.
 *
 * Types only; imports nothing.
 */

/** A message travelling a flow: any properties, `payload` by convention. */
export interface NodeMessage {
  payload?: unknown;
  topic?: string;
  [property: string]: unknown;
}

/** What a node shows under itself in the editor. */
export interface NodeStatus {
  readonly fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  readonly shape?: 'ring' | 'dot';
  readonly text?: string;
}

/** The runtime's side of one deployed node (Node-RED's `Node`), as the nodes use it. */
export interface RuntimeNode {
  readonly id: string;
  readonly name?: string;
  credentials?: Readonly<Record<string, string | undefined>>;
  status(status: NodeStatus): void;
  send(msg: NodeMessage | NodeMessage[] | null): void;
  /** Logs `err`; with a message, catch nodes get it as `msg.error` (message, and `code` when `err` has one). */
  error(err: unknown, msg?: NodeMessage): void;
  warn(message: unknown): void;
  on(event: 'input', listener: (msg: NodeMessage, send: (msg: NodeMessage) => void, done: (err?: unknown) => void) => void): void;
  on(event: 'close', listener: (removed: boolean, done: () => void) => void): void;
}

/** The settings a node was deployed with (its editor `defaults`), plus its id and type. */
export interface NodeDefinition {
  readonly id: string;
  readonly type: string;
  readonly name?: string;
  readonly [setting: string]: unknown;
}

/** A credential a node type keeps in Node-RED's credential store. */
export interface CredentialSpec {
  readonly type: 'text' | 'password';
}

/** A node type's constructor as Node-RED calls it (`new`, with the node as `this`). */
export type NodeConstructor = (this: RuntimeNode, definition: NodeDefinition) => void;

/** An Express request, as far as an admin endpoint needs it. */
export interface AdminRequest {
  readonly query: Readonly<Record<string, unknown>>;
}
/** An Express response, as far as an admin endpoint needs it. */
export interface AdminResponse {
  status(code: number): AdminResponse;
  type(mediaType: string): AdminResponse;
  json(body: unknown): void;
}
/** An Express handler on Node-RED's admin API. */
export type AdminHandler = (req: AdminRequest, res: AdminResponse, next: () => void) => void;

/** The runtime object (`RED`) a node module is given. */
export interface NodeRedRuntime {
  readonly nodes: {
    createNode(node: RuntimeNode, definition: NodeDefinition): void;
    registerType(type: string, constructor: NodeConstructor, options?: { readonly credentials?: Readonly<Record<string, CredentialSpec>> }): void;
    getNode(id: string): unknown;
  };
  readonly httpAdmin: { get(path: string, ...handlers: AdminHandler[]): void };
  readonly auth: { needsPermission(permission: string): AdminHandler };
}
