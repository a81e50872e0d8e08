// omni serve [--listen 127.0.0.1:8080] [--threads N] [--ui DIR] ...
// omni serve keys create --scope ingest[,read,admin] [--name NAME] [--rate R]
// omni serve keys list | revoke ID|PREFIX|NAME
//
// The server itself is serve/server.h; keys are serve/api_keys.h. A new key
// is printed once (table: a line to copy; json: {"key":...}) and is only
// stored hashed, so a lost key is revoked and replaced, never recovered.
#include <fmt/format.h>

#include "omni/cli/commands.h"
#include "omni/ingest/timestamp.h"
#include "omni/serve/api_keys.h"
#include "omni/serve/server.h"
#include "omni/store/sqlite_sql.h"

namespace omni::cli {
namespace {

struct KeyFlags {
  std::string scope;
  std::string name;
  double rate = 0;
  std::string which;
};

void WriteKeyJson(JsonWriter& w, const serve::ApiKey& k) {
  w.BeginObject().Key("id").Int(k.id).Key("name").String(k.name).Key("prefix").String(k.prefix);
  w.Key("scopes").String(serve::ScopesText(k.scopes)).Key("rate_per_s").Double(k.rate_per_s);
  w.Key("created").String(ingest::FormatTimestamp(k.created_at_ms, 0));
  w.Key("revoked");
  if (k.revoked_at_ms) {
    w.String(ingest::FormatTimestamp(k.revoked_at_ms, 0));
  } else {
    w.Null();
  }
  w.EndObject();
}

Status CreateKey(const Context& ctx, const KeyFlags& flags) {
  OMNI_ASSIGN_OR_RETURN(uint32_t scopes, serve::ParseScopes(flags.scope));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> sql, store::OpenSqliteSql(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(serve::ApiKeyStore keys, serve::ApiKeyStore::Over(*sql));
  OMNI_ASSIGN_OR_RETURN(serve::ApiKeyStore::Created created, keys.Create(flags.name, scopes, flags.rate));
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject().Key("key").String(created.secret).Key("api_key");
    WriteKeyJson(w, created.key);
    w.EndObject();
    PrintJson(w);
  } else {
    std::printf("%s\n", created.secret.c_str());
    std::fprintf(stderr, "API key %lld (%s, scopes %s) created; it is shown only this once.\n",
                 static_cast<long long>(created.key.id), created.key.name.empty() ? "no name" : created.key.name.c_str(),
                 serve::ScopesText(scopes).c_str());
  }
  return Status::Ok();
}

Status ListKeys(const Context& ctx) {
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> sql, store::OpenSqliteSql(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(serve::ApiKeyStore keys, serve::ApiKeyStore::Over(*sql));
  OMNI_ASSIGN_OR_RETURN(std::vector<serve::ApiKey> list, keys.List());
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject().Key("keys").BeginArray();
    for (const auto& k : list) WriteKeyJson(w, k);
    w.EndArray().EndObject();
    PrintJson(w);
    return Status::Ok();
  }
  Table t({"id", "name", "key", "scopes", "rate/s", "created", "revoked"});
  for (const auto& k : list) {
    t.AddRow({std::to_string(k.id), k.name, k.prefix + "…", serve::ScopesText(k.scopes),
              k.rate_per_s > 0 ? fmt::format("{:g}", k.rate_per_s) : "default",
              ingest::FormatTimestamp(k.created_at_ms, 0).substr(0, 19),
              k.revoked_at_ms ? ingest::FormatTimestamp(k.revoked_at_ms, 0).substr(0, 19) : ""});
  }
  t.Print();
  return Status::Ok();
}

Status RevokeKey(const Context& ctx, const KeyFlags& flags) {
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> sql, store::OpenSqliteSql(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(serve::ApiKeyStore keys, serve::ApiKeyStore::Over(*sql));
  OMNI_ASSIGN_OR_RETURN(serve::ApiKey key, keys.Revoke(flags.which));
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject().Key("revoked");
    WriteKeyJson(w, key);
    w.EndObject();
    PrintJson(w);
  } else {
    std::printf("API key %lld (%s) revoked; a running server refuses it within a second\n",
                static_cast<long long>(key.id), key.prefix.c_str());
  }
  return Status::Ok();
}

}  // namespace

void AddServeCommand(CLI::App& app, Context& ctx, CommandRegistry& registry) {
  auto options = std::make_shared<serve::ServerOptions>();
  CLI::App* serve = app.add_subcommand("serve", "HTTP JSON API (/v1) and dashboard (/ui); keys: omni serve keys");
  serve->add_option("--listen", options->listen, "host:port to bind (127.0.0.1 unless you say otherwise)")
      ->capture_default_str();
  serve->add_option("--threads", options->threads, "worker threads = concurrent connections")
      ->capture_default_str();
  serve->add_option("--ui", options->ui_dir, "folder of the dashboard's static files")->capture_default_str();
  serve->add_option("--max-body", options->max_body_bytes, "largest request body in bytes (413 above)")
      ->capture_default_str();
  serve->add_option("--read-timeout", options->read_timeout_s, "seconds a client may take to send a request")
      ->capture_default_str();
  serve->add_option("--write-timeout", options->write_timeout_s, "seconds to send a response")
      ->capture_default_str();
  serve->add_option("--rate-limit", options->rate_per_key,
                    "requests/s per API key unless the key has its own rate (0 = unlimited)")
      ->capture_default_str();
  serve->add_option("--burst", options->burst_seconds, "seconds of requests a key may send at once")
      ->capture_default_str();
  serve->add_option("--reload-interval", options->reload_interval_s,
                    "seconds between checks for a newer resolution/profile build (0 = only POST /v1/admin/reload)")
      ->capture_default_str();
  serve->add_option("--timeline-scan", options->max_timeline_scan,
                    "events stored since the last profile build scanned per customer look-up")
      ->capture_default_str();
  serve->add_option("--port-file", options->port_file, "write the bound port here (with --listen HOST:0)");
  registry.emplace_back(serve, [&ctx, options]() {
    serve::ServerOptions o = *options;
    o.data_dir = ctx.data_dir;
    return serve::Serve(o);
  });

  CLI::App* keys = serve->add_subcommand("keys", "API keys: create | list | revoke");
  keys->require_subcommand(1);
  auto flags = std::make_shared<KeyFlags>();
  CLI::App* create = keys->add_subcommand("create", "Create a key; prints it once");
  create->add_option("--scope", flags->scope, "ingest, read, admin (comma-separated; admin holds all)")->required();
  create->add_option("--name", flags->name, "who holds it, e.g. till-07");
  create->add_option("--rate", flags->rate, "requests/s for this key (0 = the server's --rate-limit)");
  registry.emplace_back(create, [&ctx, flags]() { return CreateKey(ctx, *flags); });
  CLI::App* list = keys->add_subcommand("list", "List keys (prefixes only; keys are stored hashed)");
  registry.emplace_back(list, [&ctx]() { return ListKeys(ctx); });
  CLI::App* revoke = keys->add_subcommand("revoke", "Revoke a key by id, prefix or name");
  revoke->add_option("key", flags->which, "id, prefix or name")->required();
  registry.emplace_back(revoke, [&ctx, flags]() { return RevokeKey(ctx, *flags); });
}

}  // namespace omni::cli
