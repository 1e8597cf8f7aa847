// Type-checked in the scratch project of scripts/pack_check.sh (tsc,
// moduleResolution nodenext) against the installed package's .d.ts files.
// The @ts-expect-error lines prove the types are real, not `any`.
import postgres from "postgres";
import {
  AI_PROVIDER_TYPES,
  type AIBridgeConfig,
  type AIProviderType,
  applySchema,
  type AuditEntry,
  type AuditSink,
  ConfigError,
  DriftError,
  type Logger,
  maskSecret,
  type PlanAction,
  type PlanEntry,
  planSeed,
  seedAIProvidersFromEnv,
  SeedError,
  type SeedErrorCode,
  type SeedOptions,
  type SeedPlan,
  type SeedReport,
} from "@aibridge/seed";
import { type CliIO, type CliJsonDocument, runCli } from "@aibridge/seed/run-cli";

const logger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const audit: AuditSink = {
  record(entry: AuditEntry): void {
    const kind: "ai_provider" | "ai_provider_key" = entry.resourceType;
    console.log(kind, entry.fields);
  },
};
const config: AIBridgeConfig = { legacyOpenAI: { key: "sk-example" }, providers: [{ type: "openrouter", keys: ["k"] }] };
const options: SeedOptions = { env: { CODER_AIBRIDGE_OPENAI_KEY: "sk-example" }, config, logger, audit };

export async function seed(url: string): Promise<SeedReport> {
  const sql = postgres(url);
  try {
    await applySchema(sql);
    return await seedAIProvidersFromEnv(sql, options);
  } catch (err) {
    if (err instanceof DriftError) console.error(err.provider, err.fields.map((f) => `${f.field}: ${f.stored} -> ${f.desired}`));
    else if (err instanceof ConfigError) console.error(err.problems.join("\n"));
    else if (err instanceof SeedError) {
      const code: SeedErrorCode = err.code;
      console.error(code);
    }
    throw err;
  } finally {
    await sql.end();
  }
}

export const firstType: AIProviderType = AI_PROVIDER_TYPES[0];
export const masked: string = maskSecret("sk-example-0123456789");

// @ts-expect-error `env` is a record of strings
export const wrongOptions: SeedOptions = { env: 42 };
// @ts-expect-error not a provider type
export const notAType: AIProviderType = "gpt";
export async function typedReport(): Promise<void> {
  const report = await seed("");
  // @ts-expect-error a count is a number
  const inserted: string = report.counts.insert;
  console.log(inserted);
  // A report is the plan it executed.
  const plan: SeedPlan = report;
  const entry: PlanEntry | undefined = plan.entries[0];
  const action: PlanAction | undefined = entry?.action;
  console.log(action, report.lockTaken, report.roundTrips);
}
// @ts-expect-error one vocabulary: "inserted" is not an action
export const oldAction: PlanAction = "inserted";
export const planned: (url: string) => Promise<SeedPlan> = (url) => planSeed(postgres(url), { env: {} });

const io: CliIO = { stdout: (t) => console.log(t), stderr: (t) => console.error(t), env: {}, isTTY: false };
export const exitCode: Promise<number> = runCli(["plan", "--json"], io);
export function actions(doc: CliJsonDocument): PlanAction[] {
  return (doc.entries ?? []).map((e) => e.action);
}
