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
  seedAIProvidersFromEnv,
  SeedError,
  type SeedErrorCode,
  type SeedOptions,
  type SeedReport,
} from "@aibridge/seed";

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
  // @ts-expect-error `inserted` is a number
  const inserted: string = (await seed("")).inserted;
  console.log(inserted);
}
