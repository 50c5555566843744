// A database's own settings (ALTER DATABASE … SET and ALTER ROLE … IN DATABASE … SET, stored in
// pg_db_role_setting as "name=value" text) written back as SQL the way pg_dump writes them: a
// list-valued setting whose elements are quoted identifiers or paths (search_path and the like)
// gets each element as its own literal, so `public, "Sales Dept"` stays two schemas.
import { quoteIdent, quoteLiteral } from ".";

/** Settings whose value is a list of quoted elements (pg_dump's variable_is_guc_list_quote). */
const LIST_QUOTE_SETTINGS = new Set([
  "local_preload_libraries",
  "search_path",
  "session_preload_libraries",
  "shared_preload_libraries",
  "temp_tablespaces",
  "unix_socket_directories",
]);

/**
 * Splits a stored list value into its elements, as pg_dump's SplitGUCList: elements are separated
 * by commas, surrounding blanks dropped, a double-quoted element may hold commas, blanks and `""`.
 */
export function splitSettingList(value: string): string[] {
  const elements: string[] = [];
  let at = 0;
  const skipBlanks = () => {
    while (at < value.length && /\s/.test(value[at])) at++;
  };
  const notAList = () => new Error(`setting value ${JSON.stringify(value)} is not a list of elements`);
  skipBlanks();
  if (at === value.length) return elements;
  for (;;) {
    let element = "";
    if (value[at] === '"') {
      at++;
      for (;;) {
        const quote = value.indexOf('"', at);
        if (quote < 0) throw notAList();
        element += value.slice(at, quote);
        at = quote + 1;
        if (value[at] !== '"') break;
        element += '"';
        at++;
      }
    } else {
      const start = at;
      while (at < value.length && value[at] !== "," && !/\s/.test(value[at])) at++;
      if (at === start) throw notAList();
      element = value.slice(start, at);
    }
    elements.push(element);
    skipBlanks();
    if (at === value.length) return elements;
    if (value[at] !== ",") throw notAList();
    at++;
    skipBlanks();
  }
}

/** `ALTER <scope> SET <name> TO <value>` for one stored "name=value" entry of pg_db_role_setting. */
export function alterSettingSql(scope: string, setting: string): string {
  const equals = setting.indexOf("=");
  const name = setting.slice(0, equals);
  const value = setting.slice(equals + 1);
  const literal = LIST_QUOTE_SETTINGS.has(name.toLowerCase())
    ? splitSettingList(value).map(quoteLiteral).join(", ") || "''"
    : quoteLiteral(value);
  return `ALTER ${scope} SET ${quoteIdent(name)} TO ${literal}`;
}
