CREATE TABLE `task_idempotency` (
	`created_by` text NOT NULL,
	`key` text NOT NULL,
	`task_id` text NOT NULL,
	`request_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`created_by`, `key`),
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade
);
