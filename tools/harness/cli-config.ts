// The Pulumi CLI's own checks of a stack's configuration against Pulumi.yaml's `config:` declarations,
// applied before the program runs so a stack the CLI would refuse is refused here too. Mirrors
// pulumi/pulumi pkg/workspace/config.go (mergeConfig: "Stack 'x' is missing configuration value 'k'";
// validateStackConfigValue: secret keys must be encrypted, values must have the declared type) and
// sdk/go/common/workspace/project.go (ValidateConfigValue: integers may be strings that parse as
// integers, booleans must be true/false, arrays are checked item by item; a project default must
// have the declared type).

/** A config declaration of Pulumi.yaml, as the CLI reads it. */
export interface ProjectConfigType {
  type?: string;
  items?: { type: string; items?: ProjectConfigType["items"] };
  description?: string;
  default?: unknown;
  value?: unknown;
  secret?: boolean;
}

/** A stack file's value of one key, as the CLI holds it: encrypted (`secure:`) or plain YAML. */
export interface StackValue {
  secure: boolean;
  /** The YAML value (for a secure one, the placeholder the harness hands the program). */
  value: unknown;
}

/** The CLI refused the stack: the message is the CLI's own, `keys` the keys it names. */
export interface CliConfigProblem {
  message: string;
  keys: string[];
}

/** `ValidateConfigValue`: whether a value (decrypted, objects parsed) has the declared type. */
export function validConfigValue(type: string, items: ProjectConfigType["items"], value: unknown): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "integer":
      if (typeof value === "number") return Number.isInteger(value);
      // Go's strconv.Atoi: an optional sign and decimal digits, within 64 bits.
      return typeof value === "string" && /^[+-]?\d+$/.test(value) && Number.isSafeInteger(Number(value));
    case "boolean":
      return value === "true" || value === "false" || typeof value === "boolean";
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    default:
      return (
        Array.isArray(value) &&
        items !== undefined &&
        value.every((item) => validConfigValue(items.type, items.items, item))
      );
  }
}

/** `InferFullTypeName`: "integer", "array<string>" … as the CLI's messages spell them. */
function fullTypeName(type: string, items: ProjectConfigType["items"]): string {
  return type === "array" && items ? `array<${fullTypeName(items.type, items.items)}>` : type;
}

function qualify(project: string, key: string): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

/** The CLI's "'a', 'b' and 'c'" list. */
function formatKeys(keys: string[]): string {
  const quoted = [...keys].sort().map((key) => `'${key}'`);
  return quoted.length === 1
    ? quoted[0]
    : `${quoted.slice(0, -1).join(", ")} and ${quoted[quoted.length - 1]}`;
}

/**
 * Why the CLI would refuse to run this stack, or undefined. Project problems first (a default of the
 * wrong type), then every missing required key in one message, then the first bad value in key order.
 */
export function cliConfigProblem(
  project: string,
  stack: string,
  declarations: Record<string, ProjectConfigType>,
  stackValues: Record<string, StackValue>,
): CliConfigProblem | undefined {
  const keys = Object.keys(declarations).sort();
  for (const key of keys) {
    const declaration = declarations[key];
    if (declaration.default !== undefined && declaration.value !== undefined)
      return {
        message: `project config '${key}' cannot have both a 'default' and 'value' attribute`,
        keys: [key],
      };
    if (declaration.type && declaration.default !== undefined) {
      if (!validConfigValue(declaration.type, declaration.items, declaration.default)) {
        const typeName = fullTypeName(declaration.type, declaration.items);
        return {
          message: `The default value specified for configuration key '${key}' is not of the expected type '${typeName}'`,
          keys: [key],
        };
      }
    }
  }

  const missing = keys.filter((key) => {
    const declaration = declarations[key];
    const fullKey = qualify(project, key);
    return (
      stackValues[fullKey] === undefined &&
      declaration.default === undefined &&
      declaration.value === undefined &&
      fullKey.startsWith(`${project}:`)
    );
  });
  if (missing.length > 0) {
    return {
      message: `Stack '${stack}' is missing configuration ${missing.length === 1 ? "value" : "values"} ${formatKeys(missing)}`,
      keys: missing,
    };
  }

  for (const key of keys) {
    const declaration = declarations[key];
    const stackValue = stackValues[qualify(project, key)];
    if (stackValue === undefined || declaration.type === undefined) continue;
    if (declaration.secret && !stackValue.secure) {
      return {
        message: `Stack '${stack}' with configuration key '${key}' must be encrypted as it's secret`,
        keys: [key],
      };
    }
    // The CLI decrypts before it checks the type; an encrypted value cannot be read here, so only
    // plaintext values are type-checked (a scalar stack value is a string, lists and maps are parsed).
    if (stackValue.secure) continue;
    const content =
      typeof stackValue.value === "object" && stackValue.value !== null
        ? stackValue.value
        : String(stackValue.value);
    if (!validConfigValue(declaration.type, declaration.items, content)) {
      return {
        message: `Stack '${stack}' with configuration key '${key}' must be of type '${fullTypeName(declaration.type, declaration.items)}'`,
        keys: [key],
      };
    }
  }
  return undefined;
}
