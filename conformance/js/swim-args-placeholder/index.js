// Placeholder for @swim/args 4.0.0 (absent from the reachable npm registry). The @swim/client
// library never imports it; only its command-line entry point does, which we do not use.
module.exports = {};
