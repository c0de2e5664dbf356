SELECT :'member'::text;
