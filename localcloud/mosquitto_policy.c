/*
 * Mosquitto plugin: IoT Core's policy checks for the local broker (built by `make setup`).
 *
 * Connect: the client certificate's common name is the thing; the client id must be the thing itself
 * (gateways, applications: `client/${iot:Connection.Thing.ThingName}`), or start with the prefix a
 * policy allows (the bridge: `client/loraless-bridge-*`; the local cloud's own sessions). Anything else
 * is refused before Mosquitto looks for a session to take over, so no certificate can disconnect
 * another identity's session or fire its last will.
 *
 * Publish and receive: rules generated from the synthesized template's IoT policies (localcloud/
 * policies.py), one per line: `<kind> <read|write|readwrite> <topic filter>`, where `%u` stands for
 * the thing and `%c` for the client id. Subscriptions are granted and filtered on delivery, as the
 * default ACL does; IoT Core would refuse them, but nothing is delivered either way.
 *
 * Options: plugin_opt_rules <file> (read again on SIGHUP), plugin_opt_cloud_client_prefix,
 * plugin_opt_bridge_client_prefix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include <openssl/x509.h>
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#define MAX_RULES 256
#define MAX_TEXT 256

struct rule {
	char kind[32];
	int access;
	char filter[MAX_TEXT];
};

static mosquitto_plugin_id_t *plugin_id;
static struct rule rules[MAX_RULES];
static int rule_count;
static char rules_path[1024];
static char cloud_prefix[64] = "loraless-cloud";
static char bridge_prefix[64] = "loraless-bridge-";

static int all_hex(const char *text, size_t length)
{
	if(strlen(text) != length) return 0;
	for(size_t i = 0; i < length; i++){
		if(!isxdigit((unsigned char)text[i]) || isupper((unsigned char)text[i])) return 0;
	}
	return 1;
}

/* The kind of identity a thing name is: the local stand-in for which policy is attached to it. */
static const char *kind_of(const char *thing)
{
	if(!strcmp(thing, "loraless-cloud")) return "cloud";
	if(!strcmp(thing, "loraless-bridge")) return "bridge";
	if(all_hex(thing, 16)) return "gateway";      /* a gateway's thing is its gateway id */
	if(all_hex(thing, 32)) return "application";  /* an application's is its application id */
	return NULL;
}

static int client_id_allowed(const char *kind, const char *thing, const char *client_id)
{
	if(!strcmp(kind, "cloud")) return !strncmp(client_id, cloud_prefix, strlen(cloud_prefix));
	if(!strcmp(kind, "bridge")) return !strncmp(client_id, bridge_prefix, strlen(bridge_prefix));
	return !strcmp(client_id, thing);
}

static int on_basic_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ed = event_data;
	char thing[MAX_TEXT] = "";
	const char *client_id = mosquitto_client_id(ed->client);
	const char *kind;
	X509 *certificate = mosquitto_client_certificate(ed->client);
	(void)event; (void)userdata;

	if(certificate == NULL) return MOSQ_ERR_AUTH;
	X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, thing, sizeof(thing));
	X509_free(certificate);
	kind = kind_of(thing);
	if(kind == NULL || client_id == NULL || !client_id_allowed(kind, thing, client_id)){
		mosquitto_log_printf(MOSQ_LOG_WARNING, "loraless policy: refused %s as client id %s",
				thing, client_id ? client_id : "(none)");
		return MOSQ_ERR_AUTH;
	}
	return mosquitto_set_username(ed->client, thing);  /* the thing, for the ACL checks below */
}

/* `filter` with %u and %c replaced; 0 when it does not fit. */
static int substitute(const char *filter, const char *thing, const char *client_id, char *out, size_t size)
{
	size_t n = 0;
	for(const char *p = filter; *p; p++){
		const char *insert = NULL;
		if(p[0] == '%' && p[1] == 'u') insert = thing;
		if(p[0] == '%' && p[1] == 'c') insert = client_id;
		if(insert){
			size_t length = strlen(insert);
			if(n + length >= size) return 0;
			memcpy(out + n, insert, length);
			n += length;
			p++;
		}else{
			if(n + 1 >= size) return 0;
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	return 1;
}

static int on_acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	const char *thing = mosquitto_client_username(ed->client);
	const char *client_id = mosquitto_client_id(ed->client);
	const char *kind;
	char filter[2 * MAX_TEXT];
	(void)event; (void)userdata;

	if(ed->access == MOSQ_ACL_SUBSCRIBE || ed->access == MOSQ_ACL_UNSUBSCRIBE) return MOSQ_ERR_SUCCESS;
	if(thing == NULL || client_id == NULL || strpbrk(thing, "+#/") || strpbrk(client_id, "+#/")){
		return MOSQ_ERR_ACL_DENIED;
	}
	kind = kind_of(thing);
	if(kind == NULL) return MOSQ_ERR_ACL_DENIED;
	for(int i = 0; i < rule_count; i++){
		bool matched = false;
		if(strcmp(rules[i].kind, kind) || !(rules[i].access & ed->access)) continue;
		if(!substitute(rules[i].filter, thing, client_id, filter, sizeof(filter))) continue;
		if(mosquitto_topic_matches_sub(filter, ed->topic, &matched) == MOSQ_ERR_SUCCESS && matched){
			return MOSQ_ERR_SUCCESS;
		}
	}
	return MOSQ_ERR_ACL_DENIED;
}

static int load_rules(const char *path)
{
	char line[2 * MAX_TEXT];
	FILE *file = fopen(path, "r");
	if(file == NULL){
		mosquitto_log_printf(MOSQ_LOG_ERR, "loraless policy: cannot read rules %s", path);
		return MOSQ_ERR_UNKNOWN;
	}
	rule_count = 0;
	while(fgets(line, sizeof(line), file) && rule_count < MAX_RULES){
		char access[16];
		struct rule *rule = &rules[rule_count];
		if(line[0] == '#' || sscanf(line, "%31s %15s %255s", rule->kind, access, rule->filter) != 3) continue;
		if(!strcmp(access, "read")) rule->access = MOSQ_ACL_READ;
		else if(!strcmp(access, "write")) rule->access = MOSQ_ACL_WRITE;
		else if(!strcmp(access, "readwrite")) rule->access = MOSQ_ACL_READ | MOSQ_ACL_WRITE;
		else continue;
		rule_count++;
	}
	fclose(file);
	mosquitto_log_printf(MOSQ_LOG_WARNING, "loraless policy: %d rules loaded", rule_count);
	return MOSQ_ERR_SUCCESS;
}

/* SIGHUP: read the rules again (the local cloud rewrites them from its template). */
static int on_reload(int event, void *event_data, void *userdata)
{
	(void)event; (void)event_data; (void)userdata;
	load_rules(rules_path);
	return MOSQ_ERR_PLUGIN_DEFER;  /* let Mosquitto's own reload go on */
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	for(int i = 0; i < supported_version_count; i++){
		if(supported_versions[i] == 5) return 5;
	}
	return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **user_data,
		struct mosquitto_opt *options, int option_count)
{
	(void)user_data;
	plugin_id = identifier;
	for(int i = 0; i < option_count; i++){
		if(!strcmp(options[i].key, "rules")) snprintf(rules_path, sizeof(rules_path), "%s", options[i].value);
		if(!strcmp(options[i].key, "cloud_client_prefix")) snprintf(cloud_prefix, sizeof(cloud_prefix), "%s", options[i].value);
		if(!strcmp(options[i].key, "bridge_client_prefix")) snprintf(bridge_prefix, sizeof(bridge_prefix), "%s", options[i].value);
	}
	if(rules_path[0] == '\0' || load_rules(rules_path) != MOSQ_ERR_SUCCESS) return MOSQ_ERR_UNKNOWN;
	mosquitto_callback_register(plugin_id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL, NULL);
	mosquitto_callback_register(plugin_id, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL, NULL);
	mosquitto_callback_register(plugin_id, MOSQ_EVT_RELOAD, on_reload, NULL, NULL);
	return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_cleanup(void *user_data, struct mosquitto_opt *options, int option_count)
{
	(void)user_data; (void)options; (void)option_count;
	mosquitto_callback_unregister(plugin_id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL);
	mosquitto_callback_unregister(plugin_id, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL);
	mosquitto_callback_unregister(plugin_id, MOSQ_EVT_RELOAD, on_reload, NULL);
	return MOSQ_ERR_SUCCESS;
}
