// ESLint flat config: typescript-eslint with type information (no floating promises, type-only imports), and the
// one-way import rules between the layers (docs/architecture.md):
//   platform ← schemas ← engine ← {query, alerting, replay, simulate} ← processor ← {dlq, drill, demo} ← cli
// plus: the agent (runs on the Macs) depends only on the platform, and no layer reaches up.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const up = (...folders) => ({ regex: `^(\\.\\./)+(${folders.join('|')})/`, message: `this layer must not import ${folders.join(', ')} (docs/architecture.md: one-way layers)` });
const pkgs = (...names) => ({ regex: `^(${names.join('|')})(/|$)`, message: `not in this layer: ${names.join(', ')} belong to the components that do I/O (docs/architecture.md)` });
const COMPONENTS = ['agent', 'alerting', 'cli', 'console', 'demo', 'dlq', 'drill', 'engine', 'processor', 'query', 'replay', 'simulate'];
const restrict = (files, ...patterns) => ({ files, rules: { 'no-restricted-imports': ['error', { patterns }] } });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bin/**', 'scripts/*.mjs', 'eslint.config.js', '.cache/**', 'var/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test()/describe() return promises the runner awaits itself
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] }],
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  // the platform imports nothing of signwatch outside itself
  restrict(['services/platform/**/*.ts'], { regex: '^\\.\\./', message: 'services/platform is the bottom layer: it imports no component, no schema' }),
  // schemas (the wire contract) build on the platform only
  restrict(['schemas/**/*.ts'], { regex: '^\\.\\./services/(?!platform/)', message: 'schemas import only services/platform' }),
  // the engine is pure: no I/O client, no component above it
  restrict(['services/engine/**/*.ts'], up(...COMPONENTS.filter((c) => c !== 'engine')), pkgs('kafkajs', 'fastify', 'pg', 'better-sqlite3', 'pino', '@opentelemetry/[a-z-]+')),
  // the agent runs on the signing Macs: it depends on the platform only (no engine, store, Kafka topology…)
  restrict(['services/agent/**/*.ts'], up(...COMPONENTS.filter((c) => c !== 'agent'))),
  // the store, the alerting and the offline tools sit on the engine; none reaches the processor or the demo
  restrict(['services/query/**/*.ts'], up('agent', 'alerting', 'cli', 'console', 'demo', 'dlq', 'drill', 'processor', 'replay', 'simulate')),
  restrict(['services/alerting/**/*.ts'], up('agent', 'cli', 'console', 'demo', 'dlq', 'drill', 'processor', 'query', 'replay', 'simulate')),
  restrict(['services/replay/**/*.ts', 'services/simulate/**/*.ts'], up('agent', 'alerting', 'cli', 'console', 'demo', 'dlq', 'drill', 'processor', 'query')),
  // the console sits on the alerting (gate fold, alert topic) and the query module (the Search page reads the event
  // store); its browser page imports nothing but the wire types (wire.ts, pages-wire.ts)
  restrict(['services/console/*.ts', 'services/console/routes/*.ts'], up('agent', 'cli', 'demo', 'dlq', 'processor', 'replay', 'simulate')),
  restrict(['services/console/web/**/*.ts'], { regex: '^\\.\\./(?!(\\.\\./)?(pages-)?wire\\.js$)', message: 'the browser page imports only ../wire.js and ../pages-wire.js (it is bundled for the browser)' }, { regex: '^(?!@grafana/faro-web-sdk$)[a-z@]', message: 'the browser page bundles no package but @grafana/faro-web-sdk' }),
  restrict(['services/processor/**/*.ts'], up('agent', 'alerting', 'cli', 'console', 'demo', 'dlq', 'drill', 'replay', 'simulate')),
  // one Kafka client module: services/platform/kafka.ts is the only file that loads kafkajs (createKafka); the others,
  // tests and benchmarks included, may name its types only, so the client can be replaced in one file
  {
    files: ['services/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    ignores: ['services/platform/kafka.ts', 'test/integration/processor/harness.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: [{ name: 'kafkajs', allowTypeImports: true, message: 'build Kafka clients with createKafka (services/platform/kafka.ts), the one file that loads kafkajs' }] }] },
  },
);
