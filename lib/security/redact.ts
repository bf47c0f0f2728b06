/**
 * Locations as they may be shown: any credential an older row or a typo carried is replaced.
 * New sources cannot hold credentials (parseSourceArgument refuses them); this covers rows
 * stored before that, and every place a location is printed, returned or logged.
 */
export function redactLocation(location: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return location;
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return location.replace(/\/\/[^/@\s]*@/, "//[REDACTED]@");
  }
  const ssh = /^(ssh|git\+ssh|ssh\+git):$/.test(url.protocol);
  const user = ssh ? url.username : "";
  const credentials = url.password !== "" || (url.username !== "" && !ssh);
  if (!credentials && url.search === "") return location;
  url.username = "";
  url.password = "";
  if (url.search) url.search = "?[REDACTED]";
  const text = url.toString();
  if (!credentials) return text.replace("//", user ? `//${user}@` : "//");
  const userinfo = user ? `${user}:[REDACTED]` : "[REDACTED]";
  return text.replace("//", `//${userinfo}@`);
}
