CREATE TABLE `agent_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`agent_id` text NOT NULL,
	`token_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`permissions` text DEFAULT '[]' NOT NULL,
	`created_by` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `agent_tokens_token_hash_unique` ON `agent_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `agent_tokens_agent_id_idx` ON `agent_tokens` (`agent_id`);--> statement-breakpoint
CREATE TABLE `agent_capability_stats` (
	`agent_id` text NOT NULL,
	`capability` text NOT NULL,
	`successes` integer DEFAULT 0 NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`last_outcome_at` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	PRIMARY KEY(`agent_id`, `capability`),
	FOREIGN KEY (`agent_id`) REFERENCES `agents`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "agent_capability_stats_successes_check" CHECK("successes" >= 0),
	CONSTRAINT "agent_capability_stats_failures_check" CHECK("failures" >= 0)
);
--> statement-breakpoint
CREATE INDEX `agent_capability_stats_capability_idx` ON `agent_capability_stats` (`capability`);--> statement-breakpoint
CREATE TABLE `agents` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`machine` text DEFAULT '' NOT NULL,
	`capabilities` text DEFAULT '[]' NOT NULL,
	`max_concurrent` integer DEFAULT 1 NOT NULL,
	`status` text DEFAULT 'offline' NOT NULL,
	`active_tasks` integer DEFAULT 0 NOT NULL,
	`load_avg` real,
	`provider` text,
	`model` text,
	`breaker_state` text DEFAULT 'closed' NOT NULL,
	`breaker_failures` integer DEFAULT 0 NOT NULL,
	`breaker_opened_at` integer,
	`consecutive_failures` integer DEFAULT 0 NOT NULL,
	`escalation_target` text,
	`daily_token_cap` integer,
	`meta` text DEFAULT '{}' NOT NULL,
	`last_seen_at` integer,
	`registered_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	CONSTRAINT "agents_status_check" CHECK("status" IN ('online', 'busy', 'offline')),
	CONSTRAINT "agents_breaker_state_check" CHECK("breaker_state" IN ('closed', 'open', 'half_open')),
	CONSTRAINT "agents_max_concurrent_check" CHECK("max_concurrent" >= 1),
	CONSTRAINT "agents_active_tasks_check" CHECK("active_tasks" >= 0),
	CONSTRAINT "agents_capabilities_json_check" CHECK(json_type("capabilities") = 'array')
);
--> statement-breakpoint
CREATE INDEX `agents_status_idx` ON `agents` (`status`);--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`key_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`permissions` text DEFAULT '[]' NOT NULL,
	`per_minute` integer,
	`per_day` integer,
	`requests_total` integer DEFAULT 0 NOT NULL,
	`requests_today` integer DEFAULT 0 NOT NULL,
	`usage_day` text,
	`last_used_at` integer,
	`created_by` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`revoked_at` integer,
	CONSTRAINT "api_keys_per_minute_check" CHECK("per_minute" >= 1),
	CONSTRAINT "api_keys_per_day_check" CHECK("per_day" >= 1)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_key_hash_unique` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE TABLE `approvals` (
	`id` text PRIMARY KEY NOT NULL,
	`agent_id` text NOT NULL,
	`task_id` text,
	`action` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`expires_at` integer NOT NULL,
	`decided_by` text,
	`decided_at` integer,
	`decision_note` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`agent_id`) REFERENCES `agents`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "approvals_status_check" CHECK("status" IN ('pending', 'approved', 'rejected', 'expired'))
);
--> statement-breakpoint
CREATE INDEX `approvals_status_expires_at_idx` ON `approvals` (`status`,`expires_at`);--> statement-breakpoint
CREATE INDEX `approvals_agent_id_idx` ON `approvals` (`agent_id`);--> statement-breakpoint
CREATE TABLE `audit_log` (
	`id` text PRIMARY KEY NOT NULL,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`target` text,
	`ts` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`ip` text,
	`payload_sha256` text
);
--> statement-breakpoint
CREATE INDEX `audit_log_ts_idx` ON `audit_log` (`ts`);--> statement-breakpoint
CREATE INDEX `audit_log_actor_ts_idx` ON `audit_log` (`actor`,`ts`);--> statement-breakpoint
CREATE TABLE `context` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text DEFAULT 'null' NOT NULL,
	`set_by` text NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `cost_log` (
	`id` text PRIMARY KEY NOT NULL,
	`agent_id` text NOT NULL,
	`task_id` text,
	`model` text NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cost_usd` real DEFAULT 0 NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "cost_log_input_tokens_check" CHECK("input_tokens" >= 0),
	CONSTRAINT "cost_log_output_tokens_check" CHECK("output_tokens" >= 0),
	CONSTRAINT "cost_log_cost_usd_check" CHECK("cost_usd" >= 0)
);
--> statement-breakpoint
CREATE INDEX `cost_log_agent_id_created_at_idx` ON `cost_log` (`agent_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `cost_log_created_at_idx` ON `cost_log` (`created_at`);--> statement-breakpoint
CREATE TABLE `entities` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`attributes` text DEFAULT '{}' NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `entities_kind_name_unique` ON `entities` (`kind`,`name`);--> statement-breakpoint
CREATE TABLE `entity_relations` (
	`id` text PRIMARY KEY NOT NULL,
	`from_id` text NOT NULL,
	`to_id` text NOT NULL,
	`relation` text NOT NULL,
	`attributes` text DEFAULT '{}' NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`from_id`) REFERENCES `entities`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`to_id`) REFERENCES `entities`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "entity_relations_no_self_check" CHECK("from_id" <> "to_id")
);
--> statement-breakpoint
CREATE UNIQUE INDEX `entity_relations_from_to_relation_unique` ON `entity_relations` (`from_id`,`to_id`,`relation`);--> statement-breakpoint
CREATE INDEX `entity_relations_to_id_idx` ON `entity_relations` (`to_id`);--> statement-breakpoint
CREATE TABLE `escalations` (
	`id` text PRIMARY KEY NOT NULL,
	`agent_id` text NOT NULL,
	`task_id` text,
	`target` text NOT NULL,
	`reason` text NOT NULL,
	`status` text DEFAULT 'open' NOT NULL,
	`resolved_by` text,
	`resolved_at` integer,
	`resolution` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`agent_id`) REFERENCES `agents`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "escalations_status_check" CHECK("status" IN ('open', 'resolved'))
);
--> statement-breakpoint
CREATE INDEX `escalations_status_created_at_idx` ON `escalations` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `escalations_agent_id_idx` ON `escalations` (`agent_id`);--> statement-breakpoint
CREATE TABLE `messages` (
	`id` text PRIMARY KEY NOT NULL,
	`channel` text DEFAULT 'general' NOT NULL,
	`sender` text NOT NULL,
	`content` text NOT NULL,
	`reply_to` text,
	`task_id` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`reply_to`) REFERENCES `messages`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `messages_channel_created_at_idx` ON `messages` (`channel`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `peer_hubs` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`url` text NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`secret` text NOT NULL,
	`capabilities` text DEFAULT '[]' NOT NULL,
	`last_seen_at` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	CONSTRAINT "peer_hubs_status_check" CHECK("status" IN ('active', 'disabled'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `peer_hubs_url_unique` ON `peer_hubs` (`url`);--> statement-breakpoint
CREATE TABLE `merkle_leaves` (
	`leaf_index` integer PRIMARY KEY NOT NULL,
	`leaf_hash` text NOT NULL,
	`task_id` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "merkle_leaves_leaf_index_check" CHECK("leaf_index" >= 0)
);
--> statement-breakpoint
CREATE INDEX `merkle_leaves_task_id_idx` ON `merkle_leaves` (`task_id`);--> statement-breakpoint
CREATE TABLE `provenance_links` (
	`id` text PRIMARY KEY NOT NULL,
	`task_id` text NOT NULL,
	`pipeline_id` text NOT NULL,
	`seq` integer NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL,
	`output_hash` text NOT NULL,
	`agent_id` text NOT NULL,
	`timestamp` integer NOT NULL,
	`leaf_index` integer,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "provenance_links_seq_check" CHECK("seq" >= 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `provenance_links_pipeline_seq_unique` ON `provenance_links` (`pipeline_id`,`seq`);--> statement-breakpoint
CREATE UNIQUE INDEX `provenance_links_task_id_unique` ON `provenance_links` (`task_id`);--> statement-breakpoint
CREATE TABLE `task_templates` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`prompt_template` text NOT NULL,
	`capability` text NOT NULL,
	`priority` integer DEFAULT 5 NOT NULL,
	`created_by` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	CONSTRAINT "task_templates_priority_check" CHECK("priority" BETWEEN 1 AND 10)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `task_templates_name_unique` ON `task_templates` (`name`);--> statement-breakpoint
CREATE TABLE `task_chunks` (
	`task_id` text NOT NULL,
	`seq` integer NOT NULL,
	`content` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	PRIMARY KEY(`task_id`, `seq`),
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "task_chunks_seq_check" CHECK("seq" >= 0)
);
--> statement-breakpoint
CREATE TABLE `task_deps` (
	`task_id` text NOT NULL,
	`depends_on_id` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	PRIMARY KEY(`task_id`, `depends_on_id`),
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`depends_on_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "task_deps_no_self_check" CHECK("task_id" <> "depends_on_id")
);
--> statement-breakpoint
CREATE INDEX `task_deps_depends_on_id_idx` ON `task_deps` (`depends_on_id`);--> statement-breakpoint
CREATE TABLE `tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`prompt` text NOT NULL,
	`required_capability` text NOT NULL,
	`priority` integer DEFAULT 5 NOT NULL,
	`urgency` text DEFAULT 'low' NOT NULL,
	`deadline` integer,
	`status` text DEFAULT 'queued' NOT NULL,
	`assign_to` text,
	`assigned_to` text,
	`output` text,
	`error` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`max_attempts` integer DEFAULT 3 NOT NULL,
	`confidence` real,
	`model` text,
	`input_tokens` integer,
	`output_tokens` integer,
	`cached_input_tokens` integer,
	`cost_usd` real,
	`assignment` text,
	`pipeline_id` text,
	`continuation_of` text,
	`partial_output` text,
	`memory_chars` integer,
	`memory_status` text,
	`created_by` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`assigned_at` integer,
	`started_at` integer,
	`completed_at` integer,
	`cancel_reason` text,
	FOREIGN KEY (`assigned_to`) REFERENCES `agents`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`continuation_of`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "tasks_status_check" CHECK("status" IN ('waiting', 'queued', 'assigned', 'running', 'done', 'failed', 'suspended', 'cancelled', 'relayed')),
	CONSTRAINT "tasks_urgency_check" CHECK("urgency" IN ('low', 'medium', 'high', 'critical')),
	CONSTRAINT "tasks_priority_check" CHECK("priority" BETWEEN 1 AND 10),
	CONSTRAINT "tasks_attempts_check" CHECK("attempts" >= 0),
	CONSTRAINT "tasks_max_attempts_check" CHECK("max_attempts" >= 1),
	CONSTRAINT "tasks_confidence_check" CHECK("confidence" BETWEEN 0 AND 1),
	CONSTRAINT "tasks_assignee_check" CHECK("status" NOT IN ('assigned', 'running') OR "assigned_to" IS NOT NULL)
);
--> statement-breakpoint
CREATE INDEX `tasks_status_priority_created_idx` ON `tasks` (`status`,"priority" DESC,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_assigned_to_status_idx` ON `tasks` (`assigned_to`,`status`,"priority" DESC,`assigned_at`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_capability_status_idx` ON `tasks` (`required_capability`,`status`);--> statement-breakpoint
CREATE INDEX `tasks_deadline_idx` ON `tasks` (`deadline`) WHERE "deadline" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `tasks_created_at_id_idx` ON `tasks` (`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_pipeline_id_idx` ON `tasks` (`pipeline_id`) WHERE "pipeline_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `tasks_continuation_of_idx` ON `tasks` (`continuation_of`) WHERE "continuation_of" IS NOT NULL;--> statement-breakpoint
CREATE TABLE `sessions` (
	`id_hash` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`csrf_token_hash` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`expires_at` integer NOT NULL,
	`revoked_at` integer,
	`last_seen_at` integer,
	`ip` text,
	`user_agent` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `sessions_user_id_idx` ON `sessions` (`user_id`);--> statement-breakpoint
CREATE INDEX `sessions_expires_at_idx` ON `sessions` (`expires_at`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`username` text NOT NULL,
	`password_hash` text NOT NULL,
	`role` text DEFAULT 'viewer' NOT NULL,
	`last_login_at` integer,
	`disabled_at` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	CONSTRAINT "users_role_check" CHECK("role" IN ('admin', 'user', 'viewer'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_username_unique` ON `users` (`username`);--> statement-breakpoint
CREATE TABLE `webhooks` (
	`id` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`secret` text NOT NULL,
	`events` text DEFAULT '[]' NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`disabled_at` integer,
	`last_delivery_at` integer,
	`last_status` integer,
	`consecutive_failures` integer DEFAULT 0 NOT NULL,
	`created_by` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL
);
