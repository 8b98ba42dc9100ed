/**
 * issue 16 item 15: `agent install --print-plist` never prints a malformed plist (control characters in a value are
 * refused, naming the flag) and never embeds a relative path launchd could not resolve (it starts the agent from /).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPlistOptions, renderPlist } from '../../../services/agent/commands/install.js';
import { cli, sandbox } from './helpers.js';

const OK = { label: 'com.signwatch.agent', node: '/opt/homebrew/bin/node', bin: '/opt/signwatch/bin/signwatch', config: '/usr/local/etc/signwatch/agent.json', logDir: '/usr/local/var/log/signwatch' };

void test('issue 16 item 15: control characters in any plist value are refused, naming the flag', () => {
  for (const [k, flag] of [['config', '--config'], ['logDir', '--log-dir'], ['label', '--label'], ['node', '--node'], ['bin', '--bin']] as const) {
    for (const c of ['\u0000', '\u0001', '\u001b', '\n', '\u007f', '\u0085']) {
      const bad = { ...OK, [k]: `${OK[k]}${c}x` };
      assert.throws(() => renderPlist(bad), (e: Error) => e.message.startsWith(`signwatch agent install: ${flag}: `) && /control character/.test(e.message), `${flag} ${JSON.stringify(c)}`);
    }
  }
  // XML metacharacters are escaped, not refused
  const amp = renderPlist({ ...OK, config: '/Users/a&b/<x>/agent.json' });
  assert.match(amp, /<string>\/Users\/a&amp;b\/&lt;x&gt;\/agent.json<\/string>/);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(renderPlist(OK), /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
  assert.throws(() => checkPlistOptions({ ...OK, label: 'com signwatch' }), /--label: "com signwatch" must be a reverse-DNS name/);
});

void test('issue 16 item 15: relative --config (and --log-dir, --node, --bin) refused with the absolute path to give', () => {
  const sb = sandbox();
  try {
    const r = cli(['agent', 'install', '--print-plist', '--config', 'agent.json', '--node', OK.node, '--bin', OK.bin], sb.env);
    assert.equal(r.status, 2);
    assert.match(r.stderr.toString(), /^signwatch agent install: --config: "agent\.json" is a relative path: launchd starts the agent from \/, give an absolute path \(e\.g\. \/.+\/agent\.json\)$/m);
    assert.equal(r.stdout.length, 0, 'no plist printed');
    for (const [flag, v] of [['--log-dir', 'logs'], ['--node', 'node'], ['--bin', './bin/signwatch']]) {
      const x = cli(['agent', 'install', '--print-plist', '--config', OK.config, flag!, v!], sb.env);
      assert.equal(x.status, 2, flag);
      assert.match(x.stderr.toString(), new RegExp(`${flag}: "${v!.replace('.', '\\.')}" is a relative path`));
    }
    const good = cli(['agent', 'install', '--print-plist', '--config', OK.config, '--node', OK.node, '--bin', OK.bin], sb.env);
    assert.equal(good.status, 0, good.stderr.toString());
    assert.match(good.stdout.toString(), /<string>\/usr\/local\/etc\/signwatch\/agent\.json<\/string>/);
  } finally {
    sb.cleanup();
  }
});
