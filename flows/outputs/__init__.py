"""What analysts take away: the HTML report, the Parquet/CSV export and the SQL shell."""
