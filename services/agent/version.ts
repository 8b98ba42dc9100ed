/** The agent version carried in every event's `agent` field. */
export const AGENT_VERSION = '0.1.0';
