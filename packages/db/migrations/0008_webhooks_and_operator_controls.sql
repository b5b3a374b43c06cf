CREATE TABLE `inbound_webhooks` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`secret_sealed` text NOT NULL,
	`secret_hint` text NOT NULL,
	`events` text DEFAULT '[]' NOT NULL,
	`action` text NOT NULL,
	`created_by` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	CONSTRAINT "inbound_webhooks_kind_check" CHECK("kind" IN ('generic', 'github', 'uptime-kuma'))
);
--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`webhook_id` text NOT NULL,
	`delivery_id` text,
	`event` text,
	`status` text NOT NULL,
	`reason` text,
	`http_status` integer NOT NULL,
	`task_id` text,
	`received_at` integer NOT NULL,
	FOREIGN KEY (`webhook_id`) REFERENCES `inbound_webhooks`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "webhook_deliveries_status_check" CHECK("status" IN ('accepted', 'rejected', 'ignored', 'duplicate'))
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_webhook_idx` ON `webhook_deliveries` (`webhook_id`,`received_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_deliveries_delivery_unique` ON `webhook_deliveries` (`webhook_id`,`delivery_id`) WHERE delivery_id IS NOT NULL AND status IN ('accepted', 'ignored');--> statement-breakpoint
ALTER TABLE `agents` ADD `operator_capabilities` text;--> statement-breakpoint
ALTER TABLE `agents` ADD `maintenance` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `agents` ADD `max_concurrent_override` integer;