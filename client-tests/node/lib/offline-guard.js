'use strict';
// Preloaded (node --require) into every SDK scenario process: refuses DNS lookups of anything but
// loopback names, so an SDK that tries to reach the real cloud (instance discovery at
// login.microsoftonline.com, ...) fails at once with ENOTFOUND instead of leaving the machine.
// Both undici's fetch (msal-node) and node:https (adal-node, @azure/identity) resolve via dns.lookup.
const dns = require('node:dns');

const blocked = [];
globalThis.__emulatorBlockedLookups = blocked;

function isLoopback(host) {
  return host === 'localhost' || host === 'ip6-localhost' || host === '::1' || /^127\./.test(host);
}

function refusal(host) {
  const err = new Error(`getaddrinfo ENOTFOUND ${host} (client-tests offline guard)`);
  err.code = 'ENOTFOUND';
  err.errno = -3008;
  err.syscall = 'getaddrinfo';
  err.hostname = host;
  return err;
}

const realLookup = dns.lookup;
dns.lookup = function guardedLookup(hostname, options, callback) {
  if (typeof options === 'function') {
    callback = options;
    options = {};
  }
  if (hostname && !isLoopback(hostname)) {
    blocked.push(hostname);
    process.nextTick(callback, refusal(hostname));
    return {};
  }
  return realLookup.call(this, hostname, options, callback);
};

const realPromiseLookup = dns.promises.lookup;
dns.promises.lookup = async function guardedPromiseLookup(hostname, options) {
  if (hostname && !isLoopback(hostname)) {
    blocked.push(hostname);
    throw refusal(hostname);
  }
  return realPromiseLookup.call(this, hostname, options);
};
