// Load configuration with the npm package cloud-config-client, as a Node service would.
//
//   CONFIG_ENDPOINT=http://127.0.0.1:8888 CONFIG_NAME=orders CONFIG_PROFILES=default \
//   CONFIG_USER=orders CONFIG_PASS=... node read_config.mjs
//
// Prints one line of JSON: {"properties": {...}} (the merged properties), or {"error": "..."}
// (the client's error message) with exit status 1. The credentials come from the environment,
// never from the command line.
import { load } from './modules.mjs';

const { default: client } = await load('cloud-config-client');

const options = {
  endpoint: process.env.CONFIG_ENDPOINT,
  name: process.env.CONFIG_NAME,
  profiles: (process.env.CONFIG_PROFILES ?? 'default').split(','),
};
if (process.env.CONFIG_USER) {
  options.auth = { user: process.env.CONFIG_USER, pass: process.env.CONFIG_PASS ?? '' };
}

try {
  const config = await client.load(options);
  console.log(JSON.stringify({ properties: config.properties }));
} catch (error) {
  console.log(JSON.stringify({ error: String(error && error.message ? error.message : error) }));
  process.exitCode = 1;
}
