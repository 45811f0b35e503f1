/**
 * The default port of `watchmesh dht`, apart from the command: the option table needs it for every
 * command line, the DHT library only when the node runs.
 */

/** A fixed default port, so the `--bootstrap` value others keep stays valid across restarts. */
export const DHT_DEFAULT_PORT = 49737
