// The module Node-RED loads for the `flowchain` package ("node-red" in package.json). Node-RED
// require()s node modules, and Flowchain is ES modules, so this registers the node types
// through a dynamic import; Node-RED waits for the promise before it starts the flows.
'use strict';

module.exports = async function flowchain(RED) {
  const { registerFlowchainNodes } = await import('../dist/flows/register.js');
  registerFlowchainNodes(RED);
};
