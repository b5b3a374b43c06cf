-- Custom SQL migration file, put your code below! --
-- Tasks claimed before attempts existed: their current attempt is the number of pickups so far,
-- so the next claim opens attempt attempts + 1 and the numbering matches `attempts`.
UPDATE `tasks` SET `attempt` = `attempts` WHERE `attempt` = 0;
--> statement-breakpoint
-- Before prompt parts, the hub wrote the claiming agent's recalled memories into the stored prompt
-- (`[MEMORY] … [/MEMORY]`, two newlines, then the prompt). Memory text is no longer stored in the
-- hub: remove that leading block, as the old pickup itself did before re-injecting.
UPDATE `tasks`
SET `prompt` = ltrim(substr(`prompt`, instr(`prompt`, '[/MEMORY]') + length('[/MEMORY]')), char(10))
WHERE substr(`prompt`, 1, length('[MEMORY]')) = '[MEMORY]' AND instr(`prompt`, '[/MEMORY]') > 0;
