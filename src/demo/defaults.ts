// The demo's defaults, in a module of their own so the CLI can show them without loading the demo.
export const DEFAULT_DEMO_PORT = 8443;
export const DEFAULT_DEMO_DIR = '.rampart-demo';
