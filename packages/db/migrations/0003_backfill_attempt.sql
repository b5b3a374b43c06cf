-- Custom SQL migration file, put your code below! --
-- Tasks claimed before attempts existed: their current attempt is the number of pickups so far,
-- so the next claim opens attempt attempts + 1 and the numbering matches `attempts`.
UPDATE `tasks` SET `attempt` = `attempts` WHERE `attempt` = 0;
