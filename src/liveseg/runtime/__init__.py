"""liveseg.runtime"""
